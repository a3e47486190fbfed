import t from 'tap';
import { ManagementError } from 'auth0';
import { checkResponses, startHarness } from './harness.js';

const h = await startHarness({ tokenLifetimeSec: 3600 });
t.teardown(() => h.close());

async function token(body: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return h.request('POST', '/oauth/token', {
    body: new URLSearchParams(body).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

const audience = `https://${h.emu.domain}/api/v2/`;

t.test('client credentials: secret, audience and grant are checked', async (t) => {
  const ok = await token({ grant_type: 'client_credentials', client_id: h.emu.client.clientId, client_secret: h.emu.client.clientSecret, audience });
  t.equal(ok.status, 200);
  t.match(ok.body, { token_type: 'Bearer', expires_in: 3600, access_token: String });

  const wrongSecret = await token({ grant_type: 'client_credentials', client_id: h.emu.client.clientId, client_secret: 'wrong', audience });
  t.equal(wrongSecret.status, 401);
  t.match(wrongSecret.body, { error: 'access_denied' });

  const wrongAudience = await token({ grant_type: 'client_credentials', client_id: h.emu.client.clientId, client_secret: h.emu.client.clientSecret, audience: 'https://elsewhere/api/v2/' });
  t.equal(wrongAudience.status, 403);

  const noGrant = h.emu.emulator.createClient({ scopes: [] });
  const ungranted = await token({ grant_type: 'client_credentials', client_id: noGrant.clientId, client_secret: noGrant.clientSecret, audience });
  t.equal(ungranted.status, 403);
  t.match(ungranted.body, { error_description: /client-grant/ });

  const password = await token({ grant_type: 'password', client_id: h.emu.client.clientId });
  t.match(password.body, { error: 'unsupported_grant_type' });
});

t.test('bearer token required on /api/v2', async (t) => {
  const none = await h.request('GET', '/api/v2/roles');
  t.equal(none.status, 401);
  t.match(none.body, { statusCode: 401, error: 'Unauthorized' });
  const bogus = await h.request('GET', '/api/v2/roles', { token: 'not-a-token' });
  t.equal(bogus.status, 401);
});

t.test('expired tokens are refused; the SDK fetches a new one when its cache expires', async (t) => {
  const real = Date.now;
  let shift = 0;
  h.emu.emulator.setClock(() => real() + shift);
  t.teardown(() => h.emu.emulator.setClock(real));
  const raw = await h.token();
  shift = 3_600_000;
  const expired = await h.request('GET', '/api/v2/roles', { token: raw });
  t.equal(expired.status, 401);
  t.match(expired.body, { message: /Expired token/ });
});

t.test('scope checks answer 403 insufficient_scope through the SDK', async (t) => {
  const readOnly = h.emu.emulator.createClient({ scopes: ['read:users'] });
  const sdk = h.client({ ...readOnly, maxRetries: 0 });
  await sdk.users.list();
  try {
    await sdk.organizations.create({ name: 'nope' });
    t.fail('expected 403');
  } catch (err) {
    t.ok(err instanceof ManagementError);
    const e = err as ManagementError;
    t.equal(e.statusCode, 403);
    t.match(e.body, { statusCode: 403, error: 'Forbidden', errorCode: 'insufficient_scope', message: /create:organizations/ });
  }
  const appMetadataOnly = h.emu.emulator.createClient({ scopes: ['update:users_app_metadata', 'create:users'] });
  const other = h.client({ ...appMetadataOnly, maxRetries: 0 });
  const u = await h.mgmt.users.create({ connection: h.emu.connections.database.name, email: 'scope@example.com', password: 'Sup3r-secret!' });
  const updated = await other.users.update(u.user_id ?? '', { app_metadata: { a: 1 } });
  t.same(updated.app_metadata, { a: 1 }, 'any one of the listed scopes grants access');
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 5);
});
