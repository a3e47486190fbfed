import t from 'tap';
import { createUser, ENTERPRISE_URN, GROUP_URN, testApp, USER_URN } from '../helpers/app.js';

const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SPC_URN = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const SCHEMA_URN = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
const RESOURCE_TYPE_URN = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const BASE = 'http://localhost:80/scim/v2/acme';

type Attr = { name: string; subAttributes?: Attr[]; [k: string]: unknown };
const find = (attrs: Attr[], name: string): Attr => {
  const a = attrs.find((x) => x.name === name);
  if (!a) throw new Error(`no attribute ${name}`);
  return a;
};

t.test('/ServiceProviderConfig tells the truth', async (t) => {
  const { scim } = await testApp(t, { SCIM_MAX_PAGE_SIZE: '250', SCIM_DEFAULT_PAGE_SIZE: '20' });
  const res = await scim.json('GET', '/ServiceProviderConfig');
  t.equal(res.status, 200);
  t.match(res.headers['content-type'], /^application\/scim\+json/);
  const spc = res.body;
  t.same(spc.schemas, [SPC_URN]);
  t.same(spc.filter, { supported: true, maxResults: 250 }, 'maxResults is the configured max page size');
  t.equal(spc.sort.supported, true);
  t.equal(spc.etag.supported, true);
  t.equal(spc.changePassword.supported, false);
  t.same(spc.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 }, 'bulk with the default limits');
  t.match(spc.authenticationSchemes, [{ type: 'oauthbearertoken' }]);
  t.equal(spc.meta.location, `${BASE}/ServiceProviderConfig`);

  // Each advertised capability is checked against what the server does.
  for (let i = 0; i < 300; i++) await scim.json('POST', '/Users', { userName: `u${i}` }).then((r) => i === 0 && t.equal(r.status, 201));
  const page = await scim.json('GET', '/Users?count=1000&attributes=id');
  t.equal(page.body.itemsPerPage, 250, 'a page is never larger than maxResults');
  t.equal((await scim.json('GET', '/Users?attributes=id')).body.itemsPerPage, 20, 'the default page size');
  t.equal((await scim.json('GET', '/Users?sortBy=userName&sortOrder=descending&count=1')).body.Resources[0].userName, 'u99', 'sort works');

  const id = await createUser(scim, 'patched');
  const patch = await scim.json('PATCH', `/Users/${id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'displayName', value: 'Patched' }],
  });
  const patchWorks = (patch.status === 200 || patch.status === 204) && (await scim.json('GET', `/Users/${id}`)).body.displayName === 'Patched';
  t.equal(spc.patch.supported, patchWorks, `patch.supported matches PATCH (status ${patch.status})`);

  const bulk = await scim.json('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] });
  t.equal(spc.bulk.supported, bulk.status === 200, `bulk.supported matches /Bulk (status ${bulk.status})`);

  const got = await scim.request('GET', `/Users/${id}`);
  t.match(got.headers.etag, /^W\/"\d+"$/, 'etag.supported: resources carry an ETag');
});

t.test('/Schemas lists User, Group and Enterprise User with their rules', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('GET', '/Schemas');
  t.equal(res.status, 200);
  t.match(res.body, { schemas: [LIST_URN], totalResults: 3, itemsPerPage: 3, startIndex: 1 });
  const byId = new Map(res.body.Resources.map((s: { id: string }) => [s.id, s]));
  t.same([...byId.keys()].sort(), [ENTERPRISE_URN, GROUP_URN, USER_URN].sort());

  const user = byId.get(USER_URN) as { attributes: Attr[]; schemas: string[]; name: string; meta: { location: string } };
  t.same(user.schemas, [SCHEMA_URN]);
  t.equal(user.name, 'User');
  t.equal(user.meta.location, `${BASE}/Schemas/${USER_URN}`);
  t.match(find(user.attributes, 'userName'), { type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite' });
  t.match(find(user.attributes, 'password'), { returned: 'never', mutability: 'writeOnly' });
  t.match(find(user.attributes, 'groups'), { mutability: 'readOnly', multiValued: true });
  t.match(find(find(user.attributes, 'emails').subAttributes!, 'value'), { type: 'string' });
  const group = byId.get(GROUP_URN) as { attributes: Attr[] };
  t.match(find(group.attributes, 'displayName'), { required: true });
  t.match(find(find(group.attributes, 'members').subAttributes!, 'type'), { canonicalValues: ['User', 'Group'] });
  const enterprise = byId.get(ENTERPRISE_URN) as { attributes: Attr[] };
  t.match(find(find(enterprise.attributes, 'manager').subAttributes!, 'displayName'), { mutability: 'readOnly' });

  // The advertised rules are the enforced ones.
  await createUser(scim, 'Taken');
  t.equal((await scim.json('POST', '/Users', { userName: 'TAKEN' })).status, 409, 'userName uniqueness: server');
  const withPassword = await scim.request('POST', '/Users', JSON.stringify({ userName: 'p', password: 'Secr3t!' }), { 'content-type': 'application/scim+json' });
  t.notMatch(withPassword.body, /Secr3t|password/, 'password: returned never');

  for (const id of [USER_URN, ENTERPRISE_URN, USER_URN.toLowerCase()]) {
    const one = await scim.json('GET', `/Schemas/${id}`);
    t.equal(one.status, 200, `/Schemas/${id}`);
    t.same(one.body, byId.get(id === USER_URN.toLowerCase() ? USER_URN : id), 'the same document as in the list');
  }
  const missing = await scim.json('GET', '/Schemas/urn:example:nope');
  t.equal(missing.status, 404);
  t.match(missing.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
});

t.test('/ResourceTypes lists User (with the enterprise extension) and Group', async (t) => {
  const { scim } = await testApp(t);
  const res = await scim.json('GET', '/ResourceTypes');
  t.equal(res.status, 200);
  t.match(res.body, { schemas: [LIST_URN], totalResults: 2 });
  const user = res.body.Resources.find((r: { id: string }) => r.id === 'User');
  t.same(user, {
    schemas: [RESOURCE_TYPE_URN],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: user.description,
    schema: USER_URN,
    schemaExtensions: [{ schema: ENTERPRISE_URN, required: false }],
    meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
  });
  t.match(res.body.Resources.find((r: { id: string }) => r.id === 'Group'), { endpoint: '/Groups', schema: GROUP_URN, schemaExtensions: [] });
  const one = await scim.json('GET', '/ResourceTypes/User');
  t.equal(one.status, 200);
  t.same(one.body, user);
  t.equal((await scim.json('GET', '/ResourceTypes/Group')).body.endpoint, '/Groups');
  const missing = await scim.json('GET', '/ResourceTypes/Device');
  t.equal(missing.status, 404);
  t.equal(missing.body.status, '404');
});
