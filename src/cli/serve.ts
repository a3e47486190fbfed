import type { Command } from 'commander';
import { createTenant, scimBaseUrl } from '../admin/tenants.js';
import { buildApp } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { autovacuumWarning, TableMaintenance } from '../db/maintenance.js';
import { migrateToLatest } from '../db/migrate.js';
import { findTenantByName } from '../db/tenants.js';
import { createLogger } from '../log.js';
import { startSync, type SyncRuntime } from '../sync/runtime.js';
import { bindTenant } from '../sync/binding.js';
import { findSyncConfig } from '../db/sync.js';
import { issueAdminToken } from '../admin/admin-tokens.js';
import { createSignInCode, signInUrl } from '../admin/setup-links.js';
import { createMetrics } from '../metrics.js';
import { EventsRuntime } from '../events/runtime.js';
import { secretBoxFor } from '../secrets.js';
import { checkSealedSecrets, checkStartConfig } from './production-checks.js';
import { advertisedUrl, CliError, type CliIo } from './io.js';
import { serverAnswers, startControlSocket, type ControlSocket, type RunCommand } from './control-socket.js';

const DEMO_TENANT = 'demo';

/**
 * The zero-config Auth0: the in-process emulator is the only Auth0 there is, and it starts empty with
 * new connection ids. Bind (or re-bind) the demo tenant to it at every start, keeping its rules, so
 * its users are imported again and a new user sees SCIM writes land in "Auth0" without any setup.
 */
async function bindDemoToEmulator(database: DatabaseHandle, sync: SyncRuntime & { emulator: NonNullable<SyncRuntime['emulator']> }, tenantId: string): Promise<void> {
  const stored = await findSyncConfig(database.db, tenantId);
  const previous = stored ? (stored.binding as Record<string, unknown>) : {};
  const { id: _staleOrgId, ...organization } = (previous.organization ?? { name: DEMO_TENANT }) as { name: string; id?: string };
  const binding = {
    ...previous,
    organization,
    connections: [{ id: sync.emulator.databaseConnection.id, name: sync.emulator.databaseConnection.name, mode: 'database' }],
  };
  await bindTenant(database.db, sync.queue, tenantId, { binding, ...(stored ? { rules: stored.rules, guard: stored.guard } : {}) });
}

/**
 * Zero-config start (no DATABASE_URL): on the first start create a `demo` tenant and an operator admin
 * token and print them, so `npm start` gives a new user something to point an IdP or curl at.
 */
async function ensureDemoTenant(database: DatabaseHandle, config: Config, io: CliIo, sync: SyncRuntime | undefined): Promise<void> {
  if (config.databaseUrl) return;
  const url = scimBaseUrl(advertisedUrl(config), DEMO_TENANT);
  const existing = await findTenantByName(database.db, DEMO_TENANT);
  const created = existing ? undefined : await createTenant(database.db, { name: DEMO_TENANT, displayName: 'Demo tenant', token: { label: 'demo' } });
  const tenantId = existing?.id ?? created!.tenant.id;
  const emulatorLines: string[] = [];
  if (sync?.emulator) {
    await bindDemoToEmulator(database, { ...sync, emulator: sync.emulator }, tenantId);
    emulatorLines.push(
      `  Auth0: the built-in emulator at ${sync.emulator.baseUrl} (in memory; the demo tenant syncs into its organization "demo").`,
      `    See what Provisio created there: curl ${sync.emulator.baseUrl}/__emulator/state`,
    );
  }
  // A fresh one-time link at every start: the operator's way into the console without copying a token.
  const consoleLine = `  Web console: ${signInUrl(advertisedUrl(config), await createSignInCode(database.db))}   (one-time sign-in link, valid for an hour; a new one: provisio console-link)`;
  if (!created) {
    io.out([
      `Demo tenant: ${url}`,
      consoleLine,
      '  (its SCIM token was printed on the first start; new tokens: provisio token issue demo, provisio admin-token issue)',
      ...emulatorLines,
    ].join('\n'));
    return;
  }
  const admin = await issueAdminToken(database.db, { label: 'demo operator' });
  io.out(
    [
      '',
      '  Provisio is running with zero configuration (embedded PGlite database in ' + config.dataDir + ').',
      consoleLine,
      `  Demo tenant SCIM base URL: ${url}`,
      `  Demo tenant bearer token:  ${created.token}`,
      `  Admin API token:           ${admin.token}   (operator; API docs at ${advertisedUrl(config)}/docs)`,
      ...emulatorLines,
      '  The tokens are shown once. Try:',
      `    curl -H "Authorization: Bearer ${created.token}" ${url}/Users`,
      `    curl -H "Authorization: Bearer ${admin.token}" ${advertisedUrl(config)}/v1/admin/tenants/demo/users`,
      '',
    ].join('\n'),
  );
}

/** `runCommand` runs the CLI commands that reach the server over its control socket (PGlite only). */
export function registerServeCommand(program: Command, io: CliIo, runCommand: RunCommand): void {
  program
    .command('serve')
    .description('run the SCIM server (PORT, HOST, DATABASE_URL or DATA_DIR; see docs)')
    .action(async () => {
      const config = loadConfig(io.env);
      checkStartConfig(config);
      if (!config.databaseUrl && await serverAnswers(config.dataDir)) {
        throw new CliError(`a Provisio server is already running on ${config.dataDir} (its control socket answers); the embedded database admits one`);
      }
      const logger = createLogger(config.logLevel);
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.pgPoolMax, timeouts: config.database, waitForLock: true });
      await database.unbounded((db) => migrateToLatest(db));
      const secrets = secretBoxFor(config);
      try {
        await checkSealedSecrets(database.db, secrets, config, logger);
      } catch (err) {
        await database.close();
        throw err;
      }
      // PGlite has no autovacuum: the server runs its passes. PostgreSQL's own is only checked for.
      const maintenance = database.kind === 'pglite' ? new TableMaintenance({ db: database.db, logger, schemas: [config.sync.queueSchema] }) : undefined;
      maintenance?.start();
      const noAutovacuum = database.kind === 'postgres' ? await autovacuumWarning(database.db) : undefined;
      if (noAutovacuum) logger.warn(noAutovacuum);
      const sync = config.sync.enabled ? await startSync(config, database, logger, (gateway) => createMetrics({ db: database.db, gateway })) : undefined;
      const metrics = sync?.metrics ?? createMetrics({ db: database.db });
      const webhooks = await EventsRuntime.start({
        config, db: database.sync.db, pool: database.sync.pool, logger, metrics,
        ...(sync ? { boss: sync.queue.boss } : {}),
        ...(secrets ? { box: secrets } : {}),
      });
      const app = await buildApp({
        config, database, logger, metrics, webhooks,
        ...(secrets ? { secrets } : {}),
        ...(sync ? { events: sync.events, gateway: sync.gateway, queue: sync.queue, oktaQueue: sync.okta.queue, auth0: sync.auth0, syncState: () => sync.worker.role } : {}),
      });
      let control: ControlSocket | undefined;
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
        await control?.close();
        await app.close();
        await webhooks.stop();
        await sync?.stop();
        await maintenance?.stop();
        await database.close();
        logger.info('stopped');
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      try {
        await app.listen({ port: config.port, host: config.host });
      } catch (err) {
        // Nothing is served (a port in use, an address not ours): stop what was started, or the sync worker,
        // the queue and the timers keep a process running that an orchestrator would take for a server.
        await shutdown('listen failed');
        throw new CliError(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
      }
      logger.info({ database: database.kind, url: advertisedUrl(config) }, 'provisio listening');
      if (!config.databaseUrl) {
        control = await startControlSocket(config.dataDir, runCommand, { env: io.env, server: { database, ...(sync ? { queue: sync.queue, oktaQueue: sync.okta.queue, okta: sync.okta } : {}) } }, logger);
      }
      await ensureDemoTenant(database, config, io, sync);
    });
}
