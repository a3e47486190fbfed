import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/io.js';
import { TEST_BACKEND, TEST_DATABASE_URL } from './db.js';

/** Runs the CLI in-process with this environment and captures what it prints. */
export async function runProvisio(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { env, out: (s) => { out += s.endsWith('\n') ? s : `${s}\n`; }, err: (s) => { err += s.endsWith('\n') ? s : `${s}\n`; } };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/**
 * An environment pointing the CLI at a database of its own — a fresh PGlite dir, or a fresh PostgreSQL
 * schema (dropped at teardown) — and a queue schema of its own.
 */
export async function cliEnv(t: { teardown(fn: () => unknown): void }): Promise<Record<string, string>> {
  const queue = `q_${randomBytes(5).toString('hex')}`;
  const base = { LOG_LEVEL: 'silent', PORT: '9999', HOST: '127.0.0.1', QUEUE_SCHEMA: queue };
  if (TEST_BACKEND === 'pglite') return { ...base, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'provisio-cli-')) };
  const schema = `cli_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.query(`drop schema if exists ${queue} cascade`);
    await c.end();
  });
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { ...base, DATABASE_URL: url.toString() };
}

/** A TCP port free on 127.0.0.1 right now (for a server the test starts as a child process). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
