import t from 'tap';
import { operator, orgAdmin } from '../helpers/admin.js';
import { PATCH_OP, scimUser, syncHarness } from '../helpers/sync.js';

t.test('a user\'s timeline: the IdP\'s requests, admin actions and the sync, newest first', async (t) => {
  const h = await syncHarness(t);
  await h.bind();
  const alice = await scimUser(h, 'alice@acme.test');
  const bob = await scimUser(h, 'bob@acme.test');
  await h.settle();
  t.equal((await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'CTO' }] })).status, 200);
  t.equal((await h.scim.json('PATCH', `/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'explode' }] })).status, 400);
  const op = await operator(h.app, h.database);
  t.equal((await op('POST', `/tenants/acme/users/${alice}/block`, { reason: 'left the company' })).status, 200);
  await h.settle();
  await h.app.scimAudit!.flush();

  const admin = await orgAdmin(h.app, h.database, { id: h.tenantId, name: 'acme' });
  const timeline = await admin('GET', `/tenants/acme/users/${alice}/timeline`);
  t.equal(timeline.status, 200);
  const titles = timeline.body.events.map((e: { kind: string; title: string }) => `${e.kind}: ${e.title.replace(alice, '<id>').replace(/auth0\|\S+/, 'auth0|…').replace(/token:\S+/, 'token:…')}`);
  t.same(titles, [
    'sync: synced to Auth0 as auth0|…',
    'admin: user.block by token:…',
    'directory: PATCH /scim/v2/acme/Users/<id> → 400',
    'directory: PATCH /scim/v2/acme/Users/<id> → 200',
    'directory: POST /scim/v2/acme/Users → 201',
  ]);
  const refused = timeline.body.events.find((e: { status: number | null }) => e.status === 400);
  t.match(refused.detail, /op/i, 'a refused request carries the SCIM error');
  t.match(timeline.body.events.find((e: { kind: string }) => e.kind === 'admin').detail, /left the company/);
  t.notMatch(JSON.stringify(timeline.body), /bob@acme\.test/, 'another user\'s requests are not in it');
  t.equal((await admin('GET', `/tenants/acme/users/${bob}/timeline?limit=1`)).body.events.length, 1);
  t.equal((await admin('GET', '/tenants/acme/users/01900000-0000-7000-8000-000000000000/timeline')).status, 404);
});
