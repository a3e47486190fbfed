import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { printJson, type CliIo } from './io.js';

export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations (serve also does this on start)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig(io.env);
      const database = io.server?.database ?? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 1 });
      try {
        const result = await migrateToLatest(database.db);
        const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        if (opts.json) return printJson(io, { database: database.kind, applied });
        io.out(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
      } finally {
        if (!io.server) await database.close();
      }
    });
}
