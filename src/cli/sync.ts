import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { requireTenant } from '../admin/tenants.js';
import { loadConfig } from '../config.js';
import { secretBoxFor } from '../secrets.js';
import type { DatabaseHandle } from '../db/client.js';
import { reconcileTenant, releaseHeldDeprovisions, retryFailedSyncs } from '../admin/sync-ops.js';
import { explainUser, tenantSyncStatus } from '../admin/user-status.js';
import { findUserIdByName } from '../db/users.js';
import { bindTenant } from '../sync/binding.js';
import { parseRules, parseSyncConfig, SyncConfigError } from '../sync/config.js';
import { SyncQueue } from '../sync/queue.js';
import { explainRules } from '../sync/rules.js';
import { loadSyncConfig } from '../sync/sync-user.js';
import { CliError, printJson, withDatabase, type CliIo } from './io.js';
import { boundTenantIds, findSyncConfig } from '../db/sync.js';
import { Auth0Gateway } from '../auth0/gateway.js';
import { pino } from 'pino';
import { oktaBoundTenantIds } from '../db/okta.js';
import { startOktaQueue } from '../okta/queue.js';
import { findOktaDrift, repairOktaDrift } from '../okta/reconcile.js';
import { OktaRuntime } from '../okta/runtime.js';

function readJsonFile(io: CliIo, file: string): unknown {
  try {
    return JSON.parse(readFileSync(path.resolve(io.cwd ?? process.cwd(), file), 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

/** Runs `fn` with the queue open on the same database (binding enqueues the initial import). */
async function withQueue<T>(io: CliIo, database: DatabaseHandle, fn: (queue: SyncQueue) => Promise<T>): Promise<T> {
  if (io.server?.queue) return fn(io.server.queue);
  const config = loadConfig(io.env);
  const queue = await SyncQueue.start(database.pool, { schema: config.sync.queueSchema, retryLimit: config.sync.retryLimit, expireInSeconds: config.sync.jobExpireSeconds });
  try {
    return await fn(queue);
  } finally {
    await queue.stop();
  }
}

function configError(err: unknown): never {
  if (err instanceof SyncConfigError) throw new CliError(err.message, 2);
  throw err;
}

export function registerSyncCommands(program: Command, io: CliIo): void {
  const tenant = program.commands.find((c) => c.name() === 'tenant');
  tenant
    ?.command('bind <name>')
    .description('bind a tenant to Auth0 (organization, connections, policies, mapping) and start the initial import')
    .requiredOption('--file <binding.json>', 'JSON: {"binding": {...}, "rules": {...}, "guard": {...}} (docs/sync.md)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { file: string; json?: boolean }) => {
      const input = readJsonFile(io, opts.file) as { binding?: unknown; rules?: unknown; guard?: unknown };
      await withDatabase(io, async (database) => {
        const row = await requireTenant(database.db, name);
        const secrets = secretBoxFor(loadConfig(io.env));
        const config = await withQueue(io, database, (queue) => bindTenant(database.db, queue, row.id, { binding: input.binding, rules: input.rules, guard: input.guard }, secrets)).catch(configError);
        if (opts.json) return printJson(io, config);
        io.out(`Tenant "${name}" bound to Auth0 organization "${config.binding.organization.name}"; its users are queued for sync.`);
      });
    });

  const rules = program.command('rules').description('group → role rules of a tenant');
  rules
    .command('list <tenant>')
    .description('show the rules')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        const stored = await findSyncConfig(db, row.id);
        if (!stored) throw new CliError(`tenant "${name}" is not bound to Auth0 (provisio tenant bind)`);
        const config = parseSyncConfig(stored);
        if (opts.json) return printJson(io, config.rules);
        io.out(`mode: ${config.rules.mode}${config.rules.requireMappedGroup ? ', membership requires a mapped group' : ''}`);
        for (const r of config.rules.rules) {
          io.out(`${r.position}\t${r.id}\t${r.match.by}=${r.match.value}\torg roles: ${r.grant.orgRoles.join(',') || '-'}\ttenant roles: ${r.grant.tenantRoles.join(',') || '-'}\torgs: ${r.grant.organizations.join(',') || '-'}`);
        }
      });
    });
  rules
    .command('set <tenant>')
    .description('replace the rules (re-evaluates every user)')
    .requiredOption('--file <rules.json>', 'JSON rules document (docs/sync.md)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { file: string; json?: boolean }) => {
      const input = readJsonFile(io, opts.file);
      await withDatabase(io, async (database) => {
        const row = await requireTenant(database.db, name);
        const config = await withQueue(io, database, (queue) => bindTenant(database.db, queue, row.id, (stored) => {
          if (!stored) throw new CliError(`tenant "${name}" is not bound to Auth0 (provisio tenant bind)`);
          return { binding: stored.binding, rules: input, guard: stored.guard };
        })).catch(configError);
        if (opts.json) return printJson(io, config.rules);
        io.out(`Rules of "${name}" replaced (${config.rules.rules.length}); every user is queued for re-evaluation.`);
      });
    });
  rules
    .command('test <tenant>')
    .description('show what roles a set of groups would produce')
    .requiredOption('--groups <names>', 'comma-separated group names, ids or externalIds')
    .option('--file <rules.json>', 'test these rules instead of the stored ones')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { groups: string; file?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        let config;
        try {
          config = opts.file ? parseRules(readJsonFile(io, opts.file)) : (await loadSyncConfig(db, row.id))?.rules;
        } catch (err) {
          configError(err);
        }
        if (!config) throw new CliError(`tenant "${name}" has no rules (provisio tenant bind, or --file)`);
        const explanation = explainRules(opts.groups.split(',').map((g) => g.trim()).filter(Boolean), config);
        if (opts.json) return printJson(io, explanation);
        for (const line of explanation.lines) io.out(line);
      });
    });

  program
    .command('status <tenant> [userName]')
    .description('explain a user (desired state with the rule behind each role, applied state, last error), or the tenant\'s sync counts')
    .option('--json', 'print JSON')
    .action(async (name: string, userName: string | undefined, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        if (!userName) {
          const { counts, held, okta } = await tenantSyncStatus(db, row.id);
          if (opts.json) return printJson(io, { counts, held, ...(okta ? { okta } : {}) });
          io.out(Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join('\n') || 'no users synced yet');
          if (held) io.out(`${held} deprovisioning(s) held by the guard: provisio sync release ${name}`);
          if (okta) io.out(`okta mirror: ${Object.entries(okta).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing mirrored yet'}${okta.failed ? ` (provisio okta retry ${name})` : ''}`);
          return;
        }
        const userId = await findUserIdByName(db, row.id, userName);
        const report = userId ? await explainUser(db, row.id, userId, secretBoxFor(loadConfig(io.env))) : undefined;
        if (!userId || !report) throw new CliError(`no user "${userName}" in tenant "${name}"`);
        if (opts.json) return printJson(io, report);
        io.out(`${userName} (${userId}) ${report.user.active ? 'active' : 'inactive'}; groups: ${report.user.groups.join(', ') || '-'}`);
        const { desired, applied } = report;
        if (!desired) io.out('  tenant not bound to Auth0');
        else {
          io.out(`  desired: ${desired.exists ? (desired.blocked ? 'blocked' : 'active') : 'absent'} — ${desired.lifecycle}`);
          for (const o of desired.organizations) {
            io.out(`  org ${o.name} — ${o.because}`);
            for (const r of o.roles) io.out(`    role ${r.name} — ${r.because}`);
          }
          for (const r of desired.tenantRoles) io.out(`  tenant role ${r.name} — ${r.because}`);
          for (const w of desired.warnings) io.out(`  warning: ${w}`);
        }
        if (applied) io.out(`  applied: ${applied.status}${applied.auth0UserId ? ` as ${applied.auth0UserId}` : ''}${applied.syncedAt ? ` at ${applied.syncedAt}` : ''}${applied.lastError ? `\n  last error: ${applied.lastError}` : ''}`);
        if (report.okta) {
          const { desired: want, applied: done } = report.okta;
          io.out(`  okta: ${want.presence} — ${want.reason}`);
          for (const g of want.groups) io.out(`    okta group ${g.target} — ${g.because.join('; ')}`);
          for (const w of want.warnings) io.out(`    warning: ${w}`);
          io.out(done ? `    mirrored: ${done.status}${done.oktaUserId ? ` as ${done.oktaUserId}` : ''}${done.mirroredAt ? ` at ${done.mirroredAt}` : ''}${done.lastError ? `\n    last error: ${done.lastError}` : ''}` : '    not mirrored yet');
        }
      });
    });

  program
    .command('reconcile')
    .description('compare a sink (Auth0, or the Okta mirror) with the desired state, print the repair plan, then queue the repairs')
    .option('--tenant <name>', 'one tenant (default: every bound tenant)')
    .option('--sink <sink>', 'auth0 (default) or okta', 'auth0')
    .option('--dry-run', 'print the plan only')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; sink: string; dryRun?: boolean; json?: boolean }) => {
      if (opts.sink !== 'auth0' && opts.sink !== 'okta') throw new CliError('--sink must be auth0 or okta', 2);
      await withDatabase(io, async (database, config) => {
        const report: { tenant: string; drift: { userId: string; actions: { type: string; reason: string }[] }[] }[] = [];
        if (opts.sink === 'okta') {
          const bound = await oktaBoundTenantIds(database.db);
          const tenants = opts.tenant ? [await requireTenant(database.db, opts.tenant)] : await database.db.selectFrom('tenants').selectAll().where('id', 'in', bound.concat('00000000-0000-0000-0000-000000000000')).execute();
          await withQueue(io, database, async (queue) => {
            const oktaQueue = io.server?.oktaQueue ?? (await startOktaQueue(queue.boss, config));
            // Reads Okta only: the repairs are queued for the worker, which also writes the Auth0 links.
            const runtime = io.server?.okta ?? new OktaRuntime({ db: database.db, queue: oktaQueue, logger: pino({ level: 'silent' }), production: config.production, settings: config.okta, ...(secretBoxFor(config) ? { secrets: secretBoxFor(config)! } : {}) });
            try {
              for (const tenant of tenants) {
                if (!bound.includes(tenant.id)) throw new CliError(`tenant "${tenant.name}" does not mirror into Okta (provisio okta bind)`, 2);
                const drift = await findOktaDrift(database.db, (t, u, o) => runtime.mirror(t, u, o), tenant.id);
                if (!opts.dryRun) await repairOktaDrift(database.db, oktaQueue, tenant.id, drift);
                report.push({ tenant: tenant.name, drift: [...drift].map((d) => ({ userId: d.userId, actions: [...d.actions] })) });
              }
            } finally {
              if (!io.server?.okta) await runtime.stop();
            }
          });
        } else {
          if (!config.auth0) throw new CliError('reconcile reads Auth0: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_BASE_URL for the emulator)', 2);
          const gateway = Auth0Gateway.fromSettings(config.auth0);
          const tenants = opts.tenant ? [await requireTenant(database.db, opts.tenant)] : await database.db.selectFrom('tenants').selectAll().where('id', 'in', (await boundTenantIds(database.db)).concat('00000000-0000-0000-0000-000000000000')).execute();
          for (const tenant of tenants) {
            const drift = opts.dryRun
              ? await reconcileTenant(database.db, gateway, undefined, tenant.id, true)
              : await withQueue(io, database, (queue) => reconcileTenant(database.db, gateway, queue, tenant.id, false));
            report.push({ tenant: tenant.name, drift });
          }
        }
        if (opts.json) return printJson(io, { sink: opts.sink, dryRun: Boolean(opts.dryRun), tenants: report });
        for (const t of report) {
          io.out(`${t.tenant}: ${t.drift.length} user(s) drifted${opts.sink === 'okta' ? ' in Okta' : ''}`);
          for (const d of t.drift) for (const a of d.actions) io.out(`  ${d.userId}  ${a.type}: ${a.reason}`);
          if (t.drift.length && !opts.dryRun) io.out(`  repairs queued; the ${opts.sink === 'okta' ? 'Okta mirror' : 'sync'} worker applies them.`);
        }
      });
    });

  const sync = program.command('sync').description('sync operations');
  sync
    .command('release <tenant>')
    .description('confirm deprovisionings held by the mass-deprovisioning guard (they are applied)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async (database) => {
        const row = await requireTenant(database.db, name);
        const released = await withQueue(io, database, (queue) => releaseHeldDeprovisions(database.db, queue, row.id));
        if (opts.json) return printJson(io, { released: released.length });
        io.out(`${released.length} held deprovisioning(s) released.`);
      });
    });
  sync
    .command('retry <tenant>')
    .description('queue the users whose sync failed again, now (after fixing the cause)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async (database) => {
        const row = await requireTenant(database.db, name);
        const retried = await withQueue(io, database, (queue) => retryFailedSyncs(database.db, queue, row.id));
        if (opts.json) return printJson(io, { retried: retried.length });
        io.out(retried.length === 0 ? 'No failed users.' : `${retried.length} failed user(s) queued again.`);
      });
    });
}
