import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createTenant } from '../../src/admin/tenants.js';
import { issueAdminToken } from '../../src/admin/admin-tokens.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { redactUrl } from '../../src/http/url-credentials.js';
import { loggerOptions } from '../../src/log.js';
import { testDatabase } from '../helpers/db.js';

t.test('redactUrl hides credential-looking query values and keeps the rest', async (t) => {
  t.equal(redactUrl('/scim/v2/acme/Users?filter=userName%20eq%20%22a%22&count=5'), '/scim/v2/acme/Users?filter=userName%20eq%20%22a%22&count=5');
  t.equal(redactUrl('/x?access_token=abc&count=5'), '/x?access_token=[redacted]&count=5');
  t.equal(redactUrl('/x?t=prv_abcdef'), '/x?t=[redacted]', 'our token prefix, whatever the name');
  t.equal(redactUrl('/x?q=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'), '/x?q=[redacted]', 'a JWT');
  t.equal(redactUrl('/x?API-KEY=1&%ZZ=2'), '/x?API-KEY=[redacted]&%ZZ=2', 'names of any case; undecodable pairs kept as they are');
});

t.test('a token in the query string is refused on every API and never logged', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } });
  const database = await testDatabase(t);
  const config = loadConfig({ LOG_LEVEL: 'info', SCIM_TOKEN_CACHE_MS: '0' });
  const app = await buildApp({ config, database, logger: pino(loggerOptions('info'), sink) });
  t.teardown(() => app.close());
  const { token } = await createTenant(database.db, { name: 'acme' });
  const admin = await issueAdminToken(database.db, { label: 'op' });

  const scim = await app.inject({ method: 'GET', url: `/scim/v2/acme/Users?access_token=${token}` });
  t.equal(scim.statusCode, 400);
  t.match(scim.json(), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: /Authorization header/ });
  const withHeader = await app.inject({ method: 'GET', url: `/scim/v2/acme/Users?token=${token}`, headers: { authorization: `Bearer ${token}` } });
  t.equal(withHeader.statusCode, 400, 'refused even when the header is right too: the URL has leaked it already');

  const adminRes = await app.inject({ method: 'GET', url: `/v1/admin/tenants?x=${admin.token}`, headers: { authorization: `Bearer ${admin.token}` } });
  t.equal(adminRes.statusCode, 400);
  t.match(adminRes.json(), { statusCode: 400, code: 'invalid_request', message: /Authorization header/ });

  const ok = await app.inject({ method: 'GET', url: '/scim/v2/acme/Users?count=1&filter=userName%20eq%20%22alice%22', headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.statusCode, 200, 'ordinary query strings pass');

  const log = lines.join('');
  t.ok(log.includes('[redacted]'), 'the request lines were written, redacted');
  t.notOk(log.includes(token), 'the SCIM token appears in no log line');
  t.notOk(log.includes(admin.token), 'the admin token appears in no log line');
});
