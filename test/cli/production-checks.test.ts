import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createTenant } from '../../src/admin/tenants.js';
import { checkSealedSecrets, checkStartConfig } from '../../src/cli/production-checks.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { saveSyncConfig } from '../../src/db/sync.js';
import { SecretBox } from '../../src/secrets.js';
import { cliEnv, runProvisio } from '../helpers/cli.js';
import { testDatabase } from '../helpers/db.js';

const AUTH0 = { AUTH0_DOMAIN: 'example.eu.auth0.com', AUTH0_CLIENT_ID: 'fake-client-id', AUTH0_CLIENT_SECRET: 'fake-client-secret' };

t.test('under NODE_ENV=production, serve without an Auth0 tenant refuses to start and names the variables', async (t) => {
  const env = await cliEnv(t);
  const res = await runProvisio({ ...env, NODE_ENV: 'production' }, 'serve');
  t.equal(res.code, 2);
  t.match(res.err, /NODE_ENV=production and no Auth0 tenant is configured/);
  for (const name of ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET', 'AUTH0_EMULATOR=true', 'SYNC_ENABLED=false']) t.match(res.err, name);
});

t.test('the emulator stands in only where it is allowed', async (t) => {
  t.doesNotThrow(() => checkStartConfig(loadConfig({})), 'development: the zero-config start is unchanged');
  t.doesNotThrow(() => checkStartConfig(loadConfig({ NODE_ENV: 'production', AUTH0_EMULATOR: 'true' })), 'production, emulator asked for explicitly');
  t.doesNotThrow(() => checkStartConfig(loadConfig({ NODE_ENV: 'production', ...AUTH0 })), 'production with a tenant');
  t.doesNotThrow(() => checkStartConfig(loadConfig({ NODE_ENV: 'production', SYNC_ENABLED: 'false' })), 'production without sync needs no Auth0');
  t.throws(() => checkStartConfig(loadConfig({ AUTH0_EMULATOR: 'false' })), /AUTH0_EMULATOR=false/, 'development can opt out of the stand-in');
  t.throws(() => loadConfig({ AUTH0_EMULATOR: 'true', ...AUTH0 }), ConfigError, 'emulator and a tenant at once is a mistake');
  t.throws(() => loadConfig({ AUTH0_EMULATOR: 'maybe' }), /AUTH0_EMULATOR must be true or false/);
});

t.test('sealed inbound SCIM tokens that this process cannot open: production refuses, development warns', async (t) => {
  const database = await testDatabase(t);
  await migrateToLatest(database.db);
  const key = randomBytes(32).toString('base64');
  const other = randomBytes(32).toString('base64');
  const { tenant } = await createTenant(database.db, { name: 'acme' });
  await saveSyncConfig(database.db, tenant.id, {
    binding: { organization: { name: 'acme' }, connections: [{ id: 'con_1', name: 'acme-entra', mode: 'enterprise-scim', scim: { url: 'https://example.test/scim', sealedToken: SecretBox.fromKey(key).seal('fake-scim-token') } }] },
    rules: {},
    guard: {},
  });
  const production = loadConfig({ NODE_ENV: 'production', ...AUTH0 });
  const development = loadConfig(AUTH0);
  let logged = '';
  const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _enc, done) { logged += chunk.toString(); done(); } }));

  await t.rejects(checkSealedSecrets(database.db, undefined, production, logger), /PROVISIO_ENCRYPTION_KEY is not set, and the bindings of tenant "acme" connection "acme-entra"/);
  await t.rejects(checkSealedSecrets(database.db, SecretBox.fromKey(other), production, logger), /does not open the inbound SCIM token of tenant "acme" connection "acme-entra": it was sealed with another key/);
  await t.resolves(checkSealedSecrets(database.db, SecretBox.fromKey(key), production, logger), 'the right key starts');

  await t.resolves(checkSealedSecrets(database.db, undefined, development, logger));
  t.match(logged, /PROVISIO_ENCRYPTION_KEY is not set.*cannot be created in Auth0 until this is fixed/, 'development warns instead');
});
