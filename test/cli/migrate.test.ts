import t from 'tap';
import { cliEnv, runProvisio } from '../helpers/cli.js';

t.test('migrate applies every migration once, then reports the database up to date', async (t) => {
  const env = await cliEnv(t);
  const first = await runProvisio(env, 'migrate', '--json');
  t.equal(first.code, 0, first.err);
  const applied = JSON.parse(first.out) as { database: string; applied: string[] };
  t.same(applied.applied, ['0001-initial', '0002-sync', '0003-resource-counts', '0004-admin', '0005-scrub-ticket-urls', '0006-member-foreign-keys', '0007-server-keys', '0008-leases', '0009-scim-requests', '0010-setup-links', '0011-user-history', '0012-events', '0013-okta-mirror', '0014-count-slots-by-session'], 'in order');
  const again = await runProvisio(env, 'migrate');
  t.equal(again.code, 0);
  t.match(again.out, /up to date/);
  const help = await runProvisio(env, 'migrate', '--help');
  t.equal(help.code, 0);
  t.match(help.out, /apply pending database migrations/);
});

t.test('an unreachable database is a clear error and exit code 1', async (t) => {
  const res = await runProvisio({ LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, 'migrate');
  t.equal(res.code, 1);
  t.match(res.err, /cannot reach the database/);
});
