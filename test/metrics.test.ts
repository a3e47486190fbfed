import t from 'tap';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { Auth0Gateway } from '../src/auth0/gateway.js';
import { startAuth0Emulator } from '../src/auth0/emulator/server.js';
import { loadConfig } from '../src/config.js';
import { createMetrics } from '../src/metrics.js';
import { createTenant } from '../src/admin/tenants.js';
import { testDatabase } from './helpers/db.js';

t.test('/metrics exposes SCIM traffic, sync backlog, Auth0 calls and the rate budget after real traffic', async (t) => {
  const database = await testDatabase(t);
  const emulator = await startAuth0Emulator({ plan: 'enterprise' });
  t.teardown(() => emulator.close());
  const gateway = Auth0Gateway.fromSettings({ domain: emulator.domain, clientId: emulator.client.clientId, clientSecret: emulator.client.clientSecret, baseUrl: emulator.baseUrl, plan: 'enterprise' });
  const metrics = createMetrics({ db: database.db, gateway });
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0' }), database, logger: pino({ level: 'silent' }), metrics });
  t.teardown(() => app.close());
  const { token } = await createTenant(database.db, { name: 'acme' });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const created = await app.inject({ method: 'POST', url: '/scim/v2/acme/Users', headers, payload: JSON.stringify({ userName: 'alice' }) });
  t.equal(created.statusCode, 201);
  await app.inject({ method: 'GET', url: '/scim/v2/acme/Users/00000000-0000-7000-8000-000000000000', headers });
  await app.inject({ method: 'GET', url: '/scim/v2/acme/Users', headers: { authorization: 'Bearer nope' } });
  await gateway.getUser('auth0|missing', 'tenant-a');
  await app.inject({ method: 'GET', url: '/v1/admin/tenants/acme', headers: { authorization: 'Bearer pva_not-a-real-token' } });

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  const body = res.body;
  t.match(body, /provisio_scim_requests_total\{resource="Users",method="POST",status="201"\} 1/);
  t.match(body, /provisio_scim_requests_total\{resource="Users",method="GET",status="404"\} 1/);
  t.match(body, /provisio_scim_requests_total\{resource="Users",method="GET",status="401"\} 1/);
  t.match(body, /provisio_scim_tenant_requests_total\{tenant="acme",outcome="ok"\} 1/);
  t.match(body, /provisio_scim_tenant_requests_total\{tenant="acme",outcome="client_error"\} 1/);
  t.match(body, /provisio_scim_tenant_requests_total\{tenant="unauthenticated",outcome="client_error"\} 1/);
  // The +Inf bucket: which finite bucket a request lands in depends on the machine's load, not on Provisio.
  t.match(body, /provisio_scim_request_duration_seconds_bucket\{le="\+Inf",resource="Users",method="POST"\} 1/);
  t.match(body, /provisio_scim_request_duration_seconds_count\{resource="Users",method="POST"\} 1/);
  t.match(body, /provisio_auth0_calls\{operation="GET \/users\/\{id\}",status="404"\} 1/);
  t.match(body, /provisio_auth0_rate_budget_remaining\{bucket="read_users",scope=""\} \d+/);
  t.match(body, /# TYPE provisio_sync_pending_users gauge/);
  t.match(body, /# TYPE provisio_sync_lag_seconds histogram/);
  t.match(body, /provisio_process_resident_memory_bytes/);
  t.match(body, /provisio_admin_requests_total\{route="\/v1\/admin\/tenants\/:tenant",method="GET",status="401"\} 1/, 'admin requests by route pattern, not URL');
});
