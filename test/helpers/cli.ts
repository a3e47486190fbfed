import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/io.js';

/** Runs the CLI in-process with this environment and captures what it prints. */
export async function runProvisio(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { env, out: (s) => { out += s.endsWith('\n') ? s : `${s}\n`; }, err: (s) => { err += s.endsWith('\n') ? s : `${s}\n`; } };
  const code = await runCli(argv, io);
  return { code, out, err };
}
