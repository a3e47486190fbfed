import t from 'tap';
import { checkResponses, oktaError, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());
const password = { value: 'Sup3r-secret!' };

async function statusOf(userId: string): Promise<string | undefined> {
  return (await h.sdk.userApi.getUser({ userId })).status;
}

t.test('activate a staged user; activating again is 403 E0000016', async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'sta@example.com', email: 'sta@example.com' }, credentials: { password } }, activate: false });
  const id = user.id ?? '';
  const token = await h.sdk.userApi.activateUser({ userId: id, sendEmail: false });
  t.match(token.activationToken, /^[A-Za-z0-9]{20}$/, 'without an email the token is returned');
  t.equal(await statusOf(id), 'ACTIVE', 'a user with a password becomes ACTIVE');
  const again = await oktaError(h.sdk.userApi.activateUser({ userId: id, sendEmail: false }));
  t.equal(again.status, 403);
  t.equal(again.errorCode, 'E0000016');
});

t.test('deactivate, reactivate only from PROVISIONED, activate brings a deprovisioned user back', async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'pro@example.com', email: 'pro@example.com' } } });
  const id = user.id ?? '';
  t.equal(user.status, 'PROVISIONED');
  await h.sdk.userApi.reactivateUser({ userId: id, sendEmail: false });
  t.equal(await statusOf(id), 'PROVISIONED', 'reactivate restarts the activation of a provisioned user');

  await h.sdk.userApi.deactivateUser({ userId: id });
  t.equal(await statusOf(id), 'DEPROVISIONED');
  const reactivate = await oktaError(h.sdk.userApi.reactivateUser({ userId: id }));
  t.equal(reactivate.status, 403);
  t.equal(reactivate.errorCode, 'E0000038');
  const twice = await oktaError(h.sdk.userApi.deactivateUser({ userId: id }));
  t.equal(twice.errorCode, 'E0000038');

  await h.sdk.userApi.activateUser({ userId: id, sendEmail: false });
  t.equal(await statusOf(id), 'PROVISIONED', 'still no password, so PROVISIONED again');
});

t.test('delete deactivates an active user first, then deletes it', async (t) => {
  const user = await h.sdk.userApi.createUser({ body: { profile: { login: 'del@example.com', email: 'del@example.com' }, credentials: { password } } });
  const id = user.id ?? '';
  await h.sdk.userApi.deleteUser({ userId: id });
  t.equal(await statusOf(id), 'DEPROVISIONED', 'the first delete only deactivates');
  const listed = [];
  for await (const u of await h.sdk.userApi.listUsers()) listed.push(u?.id);
  t.notOk(listed.includes(id), 'deprovisioned users are left out of plain lists');

  await h.sdk.userApi.deleteUser({ userId: id });
  const gone = await oktaError(h.sdk.userApi.getUser({ userId: id }));
  t.equal(gone.status, 404);
  t.equal(gone.errorCode, 'E0000007');
  t.equal(h.emu.state.users.has(id), false);
});

t.test('lifecycle calls on an unknown user are 404', async (t) => {
  const missing = await oktaError(h.sdk.userApi.deactivateUser({ userId: '00u00000000000000000' }));
  t.equal(missing.status, 404);
  t.equal(missing.errorSummary, 'Not found: Resource not found: 00u00000000000000000 (User)');
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 10);
});
