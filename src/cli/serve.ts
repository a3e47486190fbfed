import type { Command } from 'commander';
import { createTenant, scimBaseUrl } from '../admin/tenants.js';
import { buildApp } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { findTenantByName } from '../db/tenants.js';
import { createLogger } from '../log.js';
import { startSync } from '../sync/runtime.js';
import { createMetrics } from '../metrics.js';
import { advertisedUrl, type CliIo } from './io.js';

const DEMO_TENANT = 'demo';

/**
 * Zero-config start (no DATABASE_URL): on the first start create a `demo` tenant and print its SCIM URL
 * and token, so `npm start` gives a new user something to point an IdP or curl at.
 */
async function ensureDemoTenant(database: DatabaseHandle, config: Config, io: CliIo): Promise<void> {
  if (config.databaseUrl) return;
  const url = scimBaseUrl(advertisedUrl(config), DEMO_TENANT);
  if (await findTenantByName(database.db, DEMO_TENANT)) {
    io.out(`Demo tenant: ${url}\n  (its token was printed on the first start; a new one: provisio token issue ${DEMO_TENANT} — stop the server first, see README)`);
    return;
  }
  const created = await createTenant(database.db, { name: DEMO_TENANT, displayName: 'Demo tenant', token: { label: 'demo' } });
  io.out(
    [
      '',
      '  Provisio is running with zero configuration (embedded PGlite database in ' + config.dataDir + ').',
      `  Demo tenant SCIM base URL: ${url}`,
      `  Demo tenant bearer token:  ${created.token}`,
      '  The token is shown once. Try:',
      `    curl -H "Authorization: Bearer ${created.token}" ${url}/Users`,
      '',
    ].join('\n'),
  );
}

export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the SCIM server (PORT, HOST, DATABASE_URL or DATA_DIR; see docs)')
    .action(async () => {
      const config = loadConfig(io.env);
      const logger = createLogger(config.logLevel);
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.pgPoolMax });
      await migrateToLatest(database.db);
      const sync = config.sync.enabled ? await startSync(config, database, logger, (gateway) => createMetrics({ db: database.db, gateway })) : undefined;
      const metrics = sync?.metrics ?? createMetrics({ db: database.db });
      const app = await buildApp({ config, database, logger, metrics, ...(sync ? { events: sync.events, gateway: sync.gateway } : {}) });
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
        await app.close();
        await sync?.stop();
        await database.close();
        logger.info('stopped');
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      await app.listen({ port: config.port, host: config.host });
      logger.info({ database: database.kind, url: advertisedUrl(config) }, 'provisio listening');
      await ensureDemoTenant(database, config, io);
    });
}
