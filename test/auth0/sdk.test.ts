import t from 'tap';
import { auth0SdkLoaded } from '../../src/auth0/sdk.js';
import { bindTenant } from '../../src/sync/binding.js';
import { USER_URN } from '../helpers/app.js';
import { emulatorUser } from '../helpers/emulator.js';
import { syncHarness } from '../helpers/sync.js';

// The `auth0` SDK costs 15-20 MB of RSS and half a second to import (src/auth0/sdk.ts): a server whose tenants do
// not sync to Auth0 yet never loads it, and the first sync loads it and works as before. This file imports
// nothing that loads it, so what it sees is what the server did.
t.test('the server loads the auth0 SDK only when a tenant first syncs to Auth0', async (t) => {
  const h = await syncHarness(t);
  const created = await h.scim.json('POST', '/Users', { schemas: [USER_URN], userName: 'ann@example.com', emails: [{ value: 'ann@example.com', primary: true }] });
  t.equal(created.status, 201);
  t.equal((await h.scim.json('GET', `/Users/${created.body.id}`)).status, 200);
  t.notOk(auth0SdkLoaded(), 'SCIM traffic of an unbound tenant, with the sync worker running, does not load it');

  await bindTenant(h.database.db, h.queue, h.tenantId, {
    binding: { organization: { name: 'acme' }, connections: [{ id: h.emulator.connections.database.id, name: h.emulator.connections.database.name, mode: 'database' }] },
  }, h.secrets);
  await h.settle();
  t.ok(auth0SdkLoaded(), 'the first sync loaded it');
  t.ok(emulatorUser(h.emulator, 'ann@example.com'), 'and the user reached Auth0 through it');
  // Its errors are still told apart once it is loaded on demand: a 404 is "no such user", not a failure.
  t.equal(await h.gateway.getUser('auth0|nobody', h.tenantId), undefined, 'a 404 from the lazily loaded SDK is classified');
});
