import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Kysely } from 'kysely';
import { requireTenant } from '../admin/tenants.js';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import { findOktaBinding, mirrorStatusCounts } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import { findUserIdByName } from '../db/users.js';
import { bindOkta, retryOktaMirrors, unbindOkta } from '../okta/bind.js';
import { describeOktaBinding, parseOktaBinding, type OktaBinding, type OktaGroupRule } from '../okta/binding.js';
import { startOktaQueue, type OktaQueue } from '../okta/queue.js';
import { secretBoxFor } from '../secrets.js';
import { SyncConfigError } from '../sync/config.js';
import { SyncQueue } from '../sync/queue.js';
import { CliError, printJson, withDatabase, type CliIo } from './io.js';

function readText(io: CliIo, file: string): string {
  try {
    return readFileSync(path.resolve(io.cwd ?? process.cwd(), file), 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

function readJsonFile(io: CliIo, file: string): unknown {
  const text = readText(io, file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

function configError(err: unknown): never {
  if (err instanceof SyncConfigError) throw new CliError(err.message, 2);
  throw err;
}

/**
 * Runs `fn` with the Okta lane open on the same database (binding and retries enqueue in their transaction):
 * the running server's when it forwarded the command, else one on the sync queue's pg-boss, stopped after.
 */
async function withOktaQueue<T>(io: CliIo, database: DatabaseHandle, config: Config, fn: (queue: OktaQueue) => Promise<T>): Promise<T> {
  if (io.server?.oktaQueue) return fn(io.server.oktaQueue);
  if (io.server?.queue) return fn(await startOktaQueue(io.server.queue.boss, config));
  const sync = await SyncQueue.start(database.pool, { schema: config.sync.queueSchema, retryLimit: config.sync.retryLimit, expireInSeconds: config.sync.jobExpireSeconds });
  try {
    return await fn(await startOktaQueue(sync.boss, config));
  } finally {
    await sync.stop();
  }
}

async function requireOktaBinding(db: Kysely<Database>, tenantId: string, name: string): Promise<OktaBinding> {
  const stored = await findOktaBinding(db, tenantId);
  if (!stored) throw new CliError(`tenant "${name}" is not bound to Okta (provisio okta bind ${name})`);
  return parseOktaBinding(stored, { acceptSealed: true });
}

interface BindFlags {
  file?: string;
  orgUrl?: string;
  tokenFile?: string;
  clientId?: string;
  privateKeyFile?: string;
  keyId?: string;
  onDelete?: string;
  activation?: string;
  json?: boolean;
}

/** The binding document: the `--file` (or an empty one: default mapping, no group rules) with the flags laid over it. */
function bindingDocument(io: CliIo, opts: BindFlags): Record<string, unknown> {
  const input = opts.file ? readJsonFile(io, opts.file) : {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CliError(`${opts.file}: the Okta binding must be a JSON object (docs/okta-mirror.md)`, 2);
  const document: Record<string, unknown> = { ...input };
  if (opts.orgUrl !== undefined) document.orgUrl = opts.orgUrl;
  if (opts.onDelete !== undefined) document.onDelete = opts.onDelete;
  if (opts.activation !== undefined) document.activation = opts.activation;
  const keyFlags = opts.clientId !== undefined || opts.privateKeyFile !== undefined || opts.keyId !== undefined;
  if (opts.tokenFile !== undefined && keyFlags) throw new CliError('--token-file (an API token) and --client-id / --private-key-file / --key-id (an OAuth service app) are two ways to sign in: choose one', 2);
  if (opts.tokenFile !== undefined) document.auth = { method: 'api-token', token: readText(io, opts.tokenFile).trim() };
  if (keyFlags) {
    const fromFile = document.auth as Record<string, unknown> | undefined;
    const base = fromFile && typeof fromFile === 'object' && fromFile.method === 'private-key' ? fromFile : { method: 'private-key' };
    document.auth = {
      ...base,
      ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
      ...(opts.privateKeyFile !== undefined ? { privateKey: readText(io, opts.privateKeyFile).trim() } : {}),
      ...(opts.keyId !== undefined ? { keyId: opts.keyId } : {}),
    };
  }
  return document;
}

function target(binding: OktaBinding): string {
  return binding.orgUrl ? `Okta org ${binding.orgUrl}` : 'the built-in Okta emulator';
}

function describeRule(rule: OktaGroupRule): string {
  const group = 'id' in rule.oktaGroup ? `Okta group ${rule.oktaGroup.id}` : `Okta group "${rule.oktaGroup.name}" (created if missing)`;
  return `${rule.id}\t${rule.match.by}=${rule.match.value}\t→ ${group}`;
}

/** `userName → login, email ← emails.value, userName`: each Okta attribute with its sources, fallbacks in order. */
function describeMapping(binding: OktaBinding): string[] {
  const sources = new Map<string, string[]>();
  for (const m of binding.profileMapping) sources.set(m.okta, [...(sources.get(m.okta) ?? []), m.scim]);
  return [...sources].map(([okta, scim]) => `${okta} ← ${scim.join(', then ')}`);
}

function describeAuth(binding: OktaBinding): string {
  const auth = binding.auth;
  if (!auth) return 'the emulator\'s own token';
  if (auth.method === 'api-token') return 'API token (stored sealed)';
  return `OAuth service app ${auth.clientId}${auth.keyId ? `, key ${auth.keyId}` : ''}, private key stored sealed, scopes ${auth.scopes.join(' ')}`;
}

/** A group-rules file: the list itself, or `{"groupRules": [...]}` (a binding document's field). */
function groupRulesOf(input: unknown): unknown {
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'groupRules' in input) return (input as { groupRules: unknown }).groupRules;
  return input;
}

/** `provisio okta …`: a tenant's Okta binding (docs/okta-mirror.md). Credentials are read from files, never from argv. */
export function registerOktaCommands(program: Command, io: CliIo): void {
  const okta = program.command('okta').description('mirror a tenant\'s Auth0 users into an Okta org (docs/okta-mirror.md)');

  okta
    .command('bind <tenant>')
    .description('bind a tenant to an Okta org (or change its binding) and queue every user already in Auth0')
    .option('--file <okta.json>', 'the binding document (docs/okta-mirror.md); the flags below fill or override it')
    .option('--org-url <url>', 'the Okta org, https://<org>.okta.com (omitted: the built-in Okta emulator; required in production)')
    .option('--token-file <file>', 'a file holding an Okta API token (auth method api-token)')
    .option('--client-id <id>', 'the OAuth service app\'s client id (auth method private-key)')
    .option('--private-key-file <file>', 'the service app\'s private key, PEM or JWK')
    .option('--key-id <kid>', 'the key id (kid) Okta shows for that key')
    .addOption(new Option('--on-delete <action>', 'a directory deletion deactivates the Okta user, or deactivates and deletes it').choices(['deactivate', 'delete']))
    .addOption(new Option('--activation <mode>', 'how new Okta users start').choices(['federated', 'activation-email', 'staged']))
    .option('--json', 'print JSON')
    .action(async (name: string, opts: BindFlags) => {
      const document = bindingDocument(io, opts);
      await withDatabase(io, async (database, config) => {
        const row = await requireTenant(database.db, name);
        // Omitted group rules keep the stored ones (they have their own command): changing the credentials must not drop them.
        const input = (stored: Record<string, unknown> | undefined) => ('groupRules' in document ? document : { ...document, groupRules: stored?.groupRules });
        const secrets = secretBoxFor(config);
        const { binding, queued } = await withOktaQueue(io, database, config, (queue) => bindOkta(database.db, queue, row.id, input, { ...(secrets ? { secrets } : {}), production: config.production })).catch(configError);
        if (opts.json) return printJson(io, { binding: describeOktaBinding(binding), queued });
        io.out(`Tenant "${name}" mirrors into ${target(binding)}; ${queued} user(s) already in Auth0 queued.`);
      });
    });

  okta
    .command('show <tenant>')
    .description('the tenant\'s Okta binding (credentials never shown) and its users\' mirrors by status')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        const binding = await requireOktaBinding(db, row.id, name);
        const counts = await mirrorStatusCounts(db, row.id);
        if (opts.json) return printJson(io, { binding: describeOktaBinding(binding), counts });
        io.out(`Tenant "${name}" mirrors into ${target(binding)}.`);
        io.out(`  sign-in: ${describeAuth(binding)}`);
        io.out(`  new users: ${binding.activation}; a deletion: ${binding.onDelete}; Auth0 user id in profile.${binding.auth0IdAttribute}`);
        io.out('  profile mapping:');
        for (const line of describeMapping(binding)) io.out(`    ${line}`);
        io.out(`  group rules: ${binding.groupRules.length} (provisio okta group-rules list ${name})`);
        io.out(`  mirrors: ${Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none yet'}`);
        // Run in the server (zero-config), the built-in emulator is in its memory: say where to look at it.
        const emulator = !binding.orgUrl ? await io.server?.okta?.emulator() : undefined;
        if (emulator) {
          io.out(`  the built-in Okta emulator: ${emulator.baseUrl} (its calls: ${emulator.baseUrl}/__emulator/calls)`);
          io.out(`    curl -H "Authorization: SSWS ${emulator.token}" ${emulator.baseUrl}/api/v1/users`);
        }
      });
    });

  okta
    .command('unbind <tenant>')
    .description('stop mirroring the tenant (Okta users already created stay as they are)')
    .action(async (name: string) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        if (!(await unbindOkta(db, row.id))) throw new CliError(`tenant "${name}" is not bound to Okta`);
        io.out(`Tenant "${name}" no longer mirrors into Okta; the Okta users already created are left as they are.`);
      });
    });

  const rules = okta.command('group-rules').description('which directory groups become which Okta groups');
  rules
    .command('list <tenant>')
    .description('show the group rules')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        const binding = await requireOktaBinding(db, row.id, name);
        if (opts.json) return printJson(io, binding.groupRules);
        if (binding.groupRules.length === 0) return io.out(`No group rules: the mirror manages no Okta group memberships (provisio okta group-rules set ${name} --file rules.json).`);
        for (const rule of binding.groupRules) io.out(describeRule(rule));
      });
    });
  rules
    .command('set <tenant>')
    .description('replace the group rules (the rest of the binding stays); every mirrored user is queued for re-evaluation')
    .requiredOption('--file <rules.json>', 'JSON: the list of rules, or {"groupRules": [...]} (docs/okta-mirror.md)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { file: string; json?: boolean }) => {
      const groupRules = groupRulesOf(readJsonFile(io, opts.file));
      await withDatabase(io, async (database, config) => {
        const row = await requireTenant(database.db, name);
        await requireOktaBinding(database.db, row.id, name);
        const input = (stored: Record<string, unknown> | undefined) => {
          if (!stored) throw new CliError(`tenant "${name}" is not bound to Okta (provisio okta bind ${name})`);
          return { ...stored, groupRules };
        };
        const { binding, queued } = await withOktaQueue(io, database, config, (queue) => bindOkta(database.db, queue, row.id, input, { production: config.production })).catch(configError);
        if (opts.json) return printJson(io, { groupRules: binding.groupRules, queued });
        io.out(`Group rules of "${name}" replaced (${binding.groupRules.length}); ${queued} user(s) queued for re-evaluation.`);
      });
    });

  okta
    .command('retry <tenant>')
    .description('queue the users whose Okta mirror failed again, now (after fixing the cause)')
    .option('--user <userName>', 'only this user')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { user?: string; json?: boolean }) => {
      await withDatabase(io, async (database, config) => {
        const { db } = database;
        const row = await requireTenant(db, name);
        await requireOktaBinding(db, row.id, name);
        let userIds: string[] | undefined;
        if (opts.user !== undefined) {
          const userId = await findUserIdByName(db, row.id, opts.user);
          if (!userId) throw new CliError(`no user "${opts.user}" in tenant "${name}"`);
          userIds = [userId];
        }
        const queued = await withOktaQueue(io, database, config, (queue) => retryOktaMirrors(db, queue, row.id, userIds));
        if (opts.json) return printJson(io, { queued });
        io.out(queued === 0 ? 'No failed mirrors.' : `${queued} failed mirror(s) queued again.`);
      });
    });
}
