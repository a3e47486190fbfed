import t from 'tap';
import { createUser, GROUP_URN, testApp, userBody, type ScimClient } from '../helpers/app.js';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

interface Res {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

/** Asserts an RFC 7644 §3.12 error: SCIM content type, Error schema, status as a string, the scimType. */
function assertScimError(t: Asserts, res: Res, status: number, scimType: string | undefined, what: string): void {
  t.equal(res.statusCode, status, `${what}: status`);
  t.match(res.headers['content-type'], /^application\/scim\+json/, `${what}: content type`);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(res.body);
  } catch {
    t.fail(`${what}: body is not JSON: ${res.body}`);
  }
  t.same(body.schemas, [ERROR_URN], `${what}: Error schema`);
  t.equal(body.status, String(status), `${what}: status is a string`);
  t.equal(body.scimType, scimType, `${what}: scimType`);
  t.type(body.detail, 'string', `${what}: detail`);
}

type Asserts = Pick<typeof t, 'equal' | 'match' | 'same' | 'type' | 'fail'>;

const raw = (scim: ScimClient, method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', path: string, payload?: string, contentType = 'application/scim+json') =>
  scim.request(method, path, payload, payload === undefined ? {} : { 'content-type': contentType });

t.test('request bodies: malformed JSON, wrong content type, array, empty', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'alice');
  assertScimError(t, await raw(scim, 'POST', '/Users', '{"userName": "bob",'), 400, 'invalidSyntax', 'malformed JSON');
  assertScimError(t, await raw(scim, 'PUT', `/Users/${id}`, '{userName: bob}'), 400, 'invalidSyntax', 'malformed JSON on PUT');
  assertScimError(t, await raw(scim, 'POST', '/Users', 'userName=bob', 'application/x-www-form-urlencoded'), 415, undefined, 'form content type');
  assertScimError(t, await raw(scim, 'POST', '/Users', JSON.stringify(userBody('bob')), 'text/plain'), 415, undefined, 'text/plain');
  assertScimError(t, await raw(scim, 'POST', '/Users', JSON.stringify([userBody('bob')])), 400, 'invalidSyntax', 'array body');
  assertScimError(t, await raw(scim, 'POST', '/Groups', '[]'), 400, 'invalidSyntax', 'array body for a group');
  assertScimError(t, await raw(scim, 'PUT', `/Users/${id}`, '"alice"'), 400, 'invalidSyntax', 'string body');
  assertScimError(t, await raw(scim, 'POST', '/Users', ''), 400, 'invalidSyntax', 'empty body');
  assertScimError(t, await raw(scim, 'POST', '/Users/.search', '[1]'), 400, 'invalidSyntax', 'array search body');
  t.equal((await scim.json('GET', '/Users')).body.totalResults, 1, 'nothing was written');

  for (const [i, type] of ['application/json', 'application/scim+json', 'application/scim+json; charset=utf-8', 'Application/JSON'].entries()) {
    const res = await raw(scim, 'POST', '/Users', JSON.stringify(userBody(`u${i}`)), type);
    t.equal(res.statusCode, 201, `${type} is accepted`);
    t.match(res.headers['content-type'], /^application\/scim\+json/, 'answered as application/scim+json');
  }
});

t.test('a body over SCIM_MAX_BODY_BYTES is a 413', async (t) => {
  const { scim } = await testApp(t, { SCIM_MAX_BODY_BYTES: '2048' });
  const big = JSON.stringify(userBody('big', { displayName: 'x'.repeat(3000) }));
  assertScimError(t, await raw(scim, 'POST', '/Users', big), 413, undefined, 'too large POST');
  assertScimError(t, await raw(scim, 'POST', '/Users', big, 'application/json'), 413, undefined, 'too large as application/json');
  assertScimError(t, await raw(scim, 'POST', '/Groups', JSON.stringify({ schemas: [GROUP_URN], displayName: 'y'.repeat(4000) })), 413, undefined, 'too large group');
  t.equal((await scim.json('POST', '/Users', userBody('small', { displayName: 'x'.repeat(1000) }))).status, 201, 'under the limit is fine');
});

t.test('unknown resources and endpoints are 404 SCIM errors', async (t) => {
  const { scim } = await testApp(t);
  const missing = '0190a1b2-0000-7000-8000-000000000000';
  for (const [method, path] of [
    ['GET', `/Users/${missing}`], ['PUT', `/Users/${missing}`], ['DELETE', `/Users/${missing}`],
    ['GET', `/Groups/${missing}`], ['PUT', `/Groups/${missing}`], ['DELETE', `/Groups/${missing}`],
    ['GET', '/Users/not-an-id'], ['DELETE', '/Groups/42'],
    ['GET', '/Nope'], ['GET', '/Users/a/b'], ['GET', '/Bulk'], ['POST', '/Bulk/x'], ['DELETE', '/Users'], ['GET', '/'],
  ] as const) {
    const body = method === 'PUT' ? JSON.stringify(path.startsWith('/Users') ? userBody('x') : { schemas: [GROUP_URN], displayName: 'x' }) : method === 'POST' ? '{}' : undefined;
    assertScimError(t, await raw(scim, method, path, body), 404, undefined, `${method} ${path}`);
  }
  t.equal((await scim.json('GET', '/Users')).body.totalResults, 0, 'a PUT to a missing id creates nothing');
});

t.test('list parameters: bad filter, unknown attributes, bad paging, conflicting projections', async (t) => {
  const { scim } = await testApp(t);
  await createUser(scim, 'alice');
  const get = (query: string) => scim.request('GET', `/Users?${query}`);
  const cases: [string, string][] = [
    ['filter=' + encodeURIComponent('userName eq'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('userName xx "a"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('(userName eq "a"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('userName eq "a" and'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('   '), 'invalidFilter'],
    ['filter=' + encodeURIComponent('nosuch eq "x"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('name.nosuch eq "x"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('urn:example:custom:User:shoeSize eq "x"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('members.value eq "x"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('active gt true'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('active eq "yes"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('meta.created gt "yesterday"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('name eq "x"'), 'invalidFilter'],
    ['filter=' + encodeURIComponent('userName[value eq "x"]'), 'invalidFilter'],
    ['sortBy=nosuch', 'invalidValue'],
    ['sortBy=groups', 'invalidValue'],
    ['sortOrder=sideways', 'invalidValue'],
    ['startIndex=abc', 'invalidValue'],
    ['startIndex=1.5', 'invalidValue'],
    ['count=ten', 'invalidValue'],
    ['count=2e3', 'invalidValue'],
    ['count=99999999999999999999', 'invalidValue'],
    ['attributes=userName&excludedAttributes=emails', 'invalidValue'],
  ];
  for (const [query, scimType] of cases) assertScimError(t, await get(query), 400, scimType, `GET /Users?${decodeURIComponent(query)}`);
  assertScimError(t, await scim.request('GET', '/Groups?filter=' + encodeURIComponent('userName eq "x"')), 400, 'invalidFilter', 'a User attribute on Groups');
  assertScimError(t, await scim.request('GET', `/Users/${'0190a1b2-0000-7000-8000-000000000000'}?attributes=userName&excludedAttributes=id`), 400, 'invalidValue', 'both projections on GET by id');
  const search = await scim.request('POST', '/Users/.search', JSON.stringify({ filter: 'userName eq', count: 'x' }), { 'content-type': 'application/scim+json' });
  t.equal(search.statusCode, 400, '.search validates its body too');
  assertScimError(t, await scim.request('POST', '/Users/.search', JSON.stringify({ startIndex: 'one' }), { 'content-type': 'application/scim+json' }), 400, 'invalidValue', '.search startIndex');
  assertScimError(t, await scim.request('POST', '/.search', JSON.stringify({ filter: 'userName eq' }), { 'content-type': 'application/scim+json' }), 400, 'invalidFilter', 'root .search filter');
});

t.test('write mistakes are SCIM errors, never 500', async (t) => {
  const { scim } = await testApp(t);
  const id = await createUser(scim, 'alice');
  const writes: [string, string, unknown, number, string | undefined][] = [
    ['POST', '/Users', { schemas: 'urn:ietf:params:scim:schemas:core:2.0:User', userName: 'x' }, 400, 'invalidSyntax'],
    ['POST', '/Users', userBody('x', { name: 5 }), 400, 'invalidValue'],
    ['POST', '/Users', userBody('x', { active: 3 }), 400, 'invalidValue'],
    ['POST', '/Users', userBody('ALICE'), 409, 'uniqueness'],
    ['PUT', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }, 400, 'invalidValue'],
    ['POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G', members: [{ value: 'nobody' }] }, 400, 'invalidValue'],
    ['POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G', members: 'x' }, 400, 'invalidValue'],
  ];
  for (const [method, path, body, status, scimType] of writes) {
    const res = await raw(scim, method as 'POST', path, JSON.stringify(body));
    t.not(res.statusCode, 500, `${method} ${path} ${JSON.stringify(body)}`);
    t.equal(res.statusCode, status, `${method} ${path} ${JSON.stringify(body)}: status`);
    if (scimType) t.equal(JSON.parse(res.body).scimType, scimType, `${JSON.stringify(body)}: scimType`);
    t.match(res.headers['content-type'], /^application\/scim\+json/);
    t.same(JSON.parse(res.body).schemas, [ERROR_URN]);
  }
  t.equal((await scim.json('GET', `/Users/${id}`)).body.userName, 'alice', 'the failed PUT changed nothing');
});
