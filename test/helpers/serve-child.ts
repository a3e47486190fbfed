import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_URL } from './db.js';
import { CLI_ARGS, RUN_ROOT } from './paths.js';
import { until } from './wait.js';


export interface ServeChildren {
  /** Starts `provisio serve` with the environment given to `serveChildren`; resolves once `/readyz` answers 200. */
  start(): Promise<ChildProcess>;
  /** Everything the children printed (for a failure message). */
  output(): string;
}

/**
 * Real `provisio serve` processes for the crash tests, each killed (SIGKILL) at teardown if still running.
 * `env` must set PORT and HOST=127.0.0.1; only PATH and HOME are inherited from the test.
 */
export function serveChildren(t: { teardown(fn: () => unknown): void }, env: Record<string, string>): ServeChildren {
  const children: ChildProcess[] = [];
  let output = '';
  t.teardown(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  return {
    output: () => output,
    async start() {
      const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
        cwd: RUN_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
      child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
      await until('the server to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
        return fetch(`http://127.0.0.1:${env.PORT}/readyz`).then((r) => r.ok, () => false);
      }, 60_000);
      return child;
    },
  };
}

/**
 * A PostgreSQL schema of its own for a crash test's server child (and one for its job queue), both dropped at
 * teardown: `url` points there, `admin` reads it from the test.
 */
export async function childDatabase(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<{ schema: string; queueSchema: string; url: URL; admin: pg.Client }> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const queueSchema = `q${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  t.teardown(async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.query(`drop schema if exists ${queueSchema} cascade`);
    await admin.end();
  });
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, queueSchema, url, admin };
}
