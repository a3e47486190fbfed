import t from 'tap';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { cliEnv, runProvisio } from '../helpers/cli.js';

t.test('admin-token issue/list/revoke: operator and delegated tokens that the admin API accepts', async (t) => {
  const env = await cliEnv(t);
  t.equal((await runProvisio(env, 'tenant', 'create', 'acme')).code, 0);
  t.equal((await runProvisio(env, 'tenant', 'create', 'globex')).code, 0);

  const op = await runProvisio(env, 'admin-token', 'issue', '--label', 'ops', '--json');
  t.equal(op.code, 0, op.err);
  const operator = JSON.parse(op.out);
  t.match(operator, { scope: 'operator', tenant: null, label: 'ops', token: /^pva_[A-Za-z0-9_-]{43}$/ });
  const del = await runProvisio(env, 'admin-token', 'issue', '--tenant', 'acme', '--expires-in', '30d', '--json');
  const delegated = JSON.parse(del.out);
  t.match(delegated, { scope: 'tenant', tenant: 'acme' });
  t.ok(Date.parse(delegated.expiresAt) > Date.now() + 29 * 86_400_000);

  const human = await runProvisio(env, 'admin-token', 'issue');
  t.match(human.out, /operator: every tenant[\s\S]*pva_[\s\S]*shown once/);

  const listed = await runProvisio(env, 'admin-token', 'list', '--json');
  const tokens = JSON.parse(listed.out);
  t.equal(tokens.length, 3);
  t.notMatch(listed.out, /pva_[A-Za-z0-9_-]{20,}/, 'secrets are never listed');
  t.same(JSON.parse((await runProvisio(env, 'admin-token', 'list', '--tenant', 'acme', '--json')).out).map((x: { id: string }) => x.id), [delegated.id]);

  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const app = await buildApp({ config, database, logger: pino({ level: 'silent' }) });
  const get = async (token: string, url: string) => (await app.inject({ url, headers: { authorization: `Bearer ${token}` } })).statusCode;
  t.equal(await get(operator.token, '/v1/admin/tenants'), 200);
  t.equal(await get(delegated.token, '/v1/admin/tenants/acme'), 200);
  t.equal(await get(delegated.token, '/v1/admin/tenants/globex'), 403);
  await app.close();
  await database.close();

  const revoked = await runProvisio(env, 'admin-token', 'revoke', delegated.id, '--json');
  t.equal(JSON.parse(revoked.out).status, 'revoked');

  const bad: [string[], number, RegExp][] = [
    [['admin-token', 'issue', '--tenant', 'nobody'], 2, /no tenant named "nobody"/],
    [['admin-token', 'issue', '--expires-in', 'soon'], 2, /expiry/],
    [['admin-token', 'revoke', 'abc'], 2, /not a token id/],
    [['admin-token', 'revoke', '00000000-0000-4000-8000-000000000000'], 1, /no admin token/],
    [['admin-token', 'frobnicate'], 2, /unknown command/],
  ];
  for (const [argv, code, message] of bad) {
    const res = await runProvisio(env, ...argv);
    t.equal(res.code, code, argv.join(' '));
    t.match(res.err, message);
  }
});
