import { loadConfig, type Config } from '../config.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import type { OktaRuntime } from '../okta/runtime.js';
import type { OktaQueue } from '../okta/queue.js';
import type { SyncQueue } from '../sync/queue.js';

/** Where CLI output goes and where configuration comes from; injectable so tests run commands in-process. */
export interface CliIo {
  readonly env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** The directory relative paths in arguments (`--file`) are resolved against; default the process's own. */
  readonly cwd?: string;
  /**
   * Set when the running server executes a command forwarded over its control socket (PGlite admits one
   * process, so the CLI cannot open the database itself): the server's open database and queue are used,
   * and neither is closed afterwards.
   */
  readonly server?: { readonly database: DatabaseHandle; readonly queue?: SyncQueue; readonly oktaQueue?: OktaQueue; /** The server's Okta mirror (its built-in Okta emulator included): reconcile reads through it. */ readonly okta?: OktaRuntime };
}

export const processIo: CliIo = {
  env: process.env,
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** A failure the user can fix; printed without a stack trace, exit code `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Opens the configured database, applies pending migrations, runs `fn`, and always closes it. */
export async function withDatabase<T>(io: CliIo, fn: (database: DatabaseHandle, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  if (io.server) return fn(io.server.database, config);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 2 });
  try {
    await migrateToLatest(database.db);
    return await fn(database, config);
  } finally {
    await database.close();
  }
}

/** The URL printed for humans: PUBLIC_URL, else the local listen address. */
export function advertisedUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return `http://${host}:${config.port}`;
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
