/**
 * Generated malformed input over every SCIM route, every admin route (read from the OpenAPI document)
 * and the Post-Login endpoint: wrong types for every attribute, NUL and unpaired surrogates, oversize
 * values, deep and wide filters, bad paths, ids, headers and JSON. Every answer is below 500, every
 * error has its API's body, and a rejected write changes nothing in the database.
 *
 * The corpus is drawn with fast-check from a fixed seed (FUZZ_SEED to replay another, FUZZ_RUNS to size
 * it); every failing case is collected and printed rather than stopping at the first.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import t from 'tap';
import { issueAdminToken } from '../../src/admin/admin-tokens.js';
import { createGroup, createUser, ENTERPRISE_URN, GROUP_URN, USER_URN } from '../helpers/app.js';
import { actionToken, loginBody, loginHarness } from '../login/harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Family = 'scim' | 'admin' | 'login';

interface Case {
  readonly family: Family;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
}

// ---- strings a client should never get a 500 for ------------------------------------------------

const NASTY = [
  '\u0000', 'a\u0000b', '\uD800', '\uDFFF', 'x\uDC00y', '\uD83D', '\uDE00\uD83D', '😀', 'é', '\u202E', '\uFFFF', '\uFEFF',
  '', ' ', '"', '\\', '\\u0000', "'", '%', '%00', '%zz', '%ED%A0%80', '%C0%80', '(', ')', '[', ']', ' or ', ' and ', ' eq ', 'not(',
  '\n', '\r\n', '\t', '$', '{}', '[]', 'null', 'true', '-1', '1e309', 'NaN', '💩'.repeat(300), 'x'.repeat(1100), 'y'.repeat(70_000),
  '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000g', 'ffffffff-ffff-ffff-ffff-ffffffffffff-', 'urn:ietf:params:scim:schemas:core:2.0:User:',
];
const nastyPiece = fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
const nasty = fc.array(nastyPiece, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));

/** Any JSON value, with nasty strings and numbers in it. */
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(2 ** 53 + 1, -0, 1e308),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Percent-encodes what `encodeURIComponent` can, and an unpaired surrogate as its (invalid) CESU-8 bytes. */
function encode(s: string): string {
  return Array.from(s).map((ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      return '%ED%A0%80';
    }
  }).join('');
}

/** JSON text with every non-ASCII character escaped, so an unpaired surrogate arrives as `\uD800`. */
function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const rawJson = fc.constantFrom('', ' ', '{', '[', '{"a":}', 'null', '"x"', '1', '[]', '{"schemas":', '\u0000', '{"a":"\u0000"}', '{"a":"\\ud800"}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '{'.repeat(10_000), '['.repeat(5000) + ']'.repeat(5000));

// ---- filters --------------------------------------------------------------------------------------

const ATTRS = ['userName', 'id', 'externalId', 'displayName', 'emails.value', 'emails[type eq "work"].value', 'members.value', 'groups.value', 'meta.lastModified', 'meta.created', 'active', 'name.givenName', `${ENTERPRISE_URN}:manager.value`, 'members', 'nope', 'x.y.z', '"', ''];
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'EQ', 'xx', ''];
const VALUES = ['"a"', '"x"', 'true', 'null', '1', '"0000-01-01T00:00:00Z"', '"99999-12-31T23:59:59Z"', '"2020-13-45T99:99:99Z"', '"-infinity"', '"294277-01-01T00:00:00Z"', '"4713-01-01T00:00:00BC"', '"00000000-0000-0000-0000-000000000000"', '"not-a-uuid"'];
const term = fc.tuple(fc.constantFrom(...ATTRS), fc.constantFrom(...OPS), fc.oneof(fc.constantFrom(...VALUES), nasty.map((s) => JSON.stringify(s))))
  .map(([a, op, v]) => (op === 'pr' ? `${a} pr` : `${a} ${op} ${v}`));
const filter = fc.oneof(
  term,
  fc.array(term, { minLength: 2, maxLength: 8 }).chain((ts) => fc.constantFrom(' and ', ' or ').map((j) => ts.join(j))),
  fc.tuple(term, fc.integer({ min: 1, max: 3000 })).map(([x, n]) => `${'('.repeat(n)}${x}${')'.repeat(n)}`),
  fc.tuple(term, fc.integer({ min: 1, max: 2000 })).map(([x, n]) => `${'not ('.repeat(n)}${x}${')'.repeat(n)}`),
  fc.tuple(term, fc.integer({ min: 50, max: 3000 })).map(([x, n]) => Array.from({ length: n }, () => x).join(' or ')),
  fc.integer({ min: 1, max: 500 }).map((n) => `${'emails['.repeat(n)}value eq "a"${']'.repeat(n)}`),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => `userName eq "${'a'.repeat(n)}"`),
  nasty,
);

// ---- the routes -----------------------------------------------------------------------------------

t.test('malformed input never gets a 5xx, always its API error body, and changes nothing', { timeout: 400_000 }, async (t) => {
  // Throttling would answer most of a burst like this with 429 before the input is looked at.
  const h = await loginHarness(t, { env: { SCIM_RATE_LIMIT: 'off', AUTH_FAILURE_RATE_LIMIT: 'off' } });
  const acme = await h.tenant('acme');
  const bound = await h.tenant('bound');
  const enterprise = h.emulator.connections.enterprise;
  await bound.bind({ organization: { name: 'bound' }, connections: [{ id: enterprise.id, name: enterprise.name, mode: 'enterprise', assignMembershipOnLogin: true }], login: { jit: 'jit' } });
  await h.settle();
  const db = h.database.db;
  const { token: adminToken } = await issueAdminToken(db, { label: 'fuzz operator' });

  const alice = await createUser(acme.scim, 'alice@acme.test', { emails: [{ value: 'alice@acme.test', type: 'work', primary: true }], name: { givenName: 'Alice' } });
  const bob = await createUser(acme.scim, 'bob@acme.test');
  const team = await createGroup(acme.scim, 'team', [alice, bob]);
  const empty = await createGroup(acme.scim, 'empty');
  const seedIds = [alice, bob, team, empty];

  // What a rejected request must leave as it was (volatile columns such as last_used_at left out).
  const snapshot = async (): Promise<string> => {
    const { rows } = await sql<{ s: unknown }>`select json_build_array(
      (select json_agg(u order by u.tenant_id, u.id) from (select tenant_id, id, user_name, external_id, display_name, active, email, data, version, updated_at from users) u),
      (select json_agg(g order by g.tenant_id, g.id) from (select tenant_id, id, display_name, external_id, data, version, updated_at from groups) g),
      (select json_agg(m order by m.tenant_id, m.group_id, m.member_id) from (select tenant_id, group_id, member_id, member_type from group_members) m),
      (select json_agg(x order by x.id) from (select id, name, display_name, settings, updated_at from tenants) x),
      (select json_agg(x order by x.id) from (select id, tenant_id, label, scopes, expires_at, revoked_at from scim_tokens) x),
      (select json_agg(x order by x.id) from (select id, tenant_id, label, expires_at, revoked_at from admin_tokens) x),
      (select json_agg(x order by x.tenant_id) from (select tenant_id, binding, rules from tenant_sync_config where tenant_id <> ${bound.id}) x),
      (select json_agg(x order by x.tenant_id, x.user_id) from (select * from user_admin_overrides) x),
      (select count(*) from admin_audit)
    ) as s`.execute(db);
    return JSON.stringify(rows[0]?.s);
  };

  // Every admin route, as the OpenAPI document lists it, but the Auth0 connection routes: they call the Auth0
  // tenant a body names (or answer 503 when none is configured, as here); test/admin/auth0.test.ts covers their input.
  const openapi = JSON.parse((await h.app.inject({ method: 'GET', url: '/docs/json' })).body) as { paths: Record<string, Record<string, unknown>> };
  const adminRoutes = Object.entries(openapi.paths)
    .filter(([path]) => path.startsWith('/v1/admin') && !path.startsWith('/v1/admin/auth0/'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ path, method: m.toUpperCase() })));
  t.ok(adminRoutes.length >= 25, `${adminRoutes.length} admin routes from the OpenAPI document`);

  // ---- generators that need the fixture -----------------------------------------------------------

  const anyId = fc.oneof(nasty, fc.uuid().map((u) => u.toUpperCase()), fc.constant(randomUUID()), fc.constant(`${alice}x`), fc.constant(alice.slice(0, 35)));
  const writableId = fc.oneof(anyId, fc.constantFrom(...seedIds));
  const memberRef = fc.oneof(fc.record({ value: fc.oneof(jsonish, anyId, fc.constantFrom(...seedIds)) }, { requiredKeys: [] }), jsonish);

  /** A body with one attribute (or several) of the wrong type, size or text. */
  const userBody = fc.record({
    schemas: fc.oneof(fc.constant([USER_URN]), fc.constant([USER_URN, ENTERPRISE_URN]), jsonish),
    userName: fc.oneof(fc.constant('fuzz@acme.test'), nasty, jsonish),
    name: fc.oneof(fc.record({ givenName: jsonish, familyName: jsonish, formatted: jsonish }, { requiredKeys: [] }), jsonish),
    displayName: jsonish, externalId: jsonish, active: jsonish, title: jsonish, nickName: jsonish, locale: jsonish, timezone: jsonish, password: jsonish,
    emails: fc.oneof(fc.array(fc.record({ value: jsonish, type: jsonish, primary: jsonish }, { requiredKeys: [] }), { maxLength: 3 }), fc.integer({ min: 100, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => ({ value: `e${i}@x.test` }))), jsonish),
    phoneNumbers: jsonish, addresses: jsonish, roles: jsonish, groups: jsonish, meta: jsonish, id: anyId,
    [ENTERPRISE_URN]: fc.oneof(fc.record({ employeeNumber: jsonish, manager: fc.oneof(fc.record({ value: anyId }), jsonish), department: jsonish }, { requiredKeys: [] }), jsonish),
  }, { requiredKeys: [] }).chain((body) => fc.dictionary(nasty, jsonish, { maxKeys: 2 }).map((extra) => ({ ...extra, ...body })));
  const groupBody = fc.record({
    schemas: fc.oneof(fc.constant([GROUP_URN]), jsonish),
    displayName: fc.oneof(fc.constant('fuzz group'), nasty, jsonish),
    members: fc.oneof(fc.array(memberRef, { maxLength: 4 }), fc.integer({ min: 1000, max: 20_000 }).map((n) => Array.from({ length: n }, () => ({ value: randomUUID() }))), jsonish),
    externalId: jsonish, id: anyId,
  }, { requiredKeys: [] });
  const patchPath = fc.oneof(
    fc.constantFrom('members', 'members[value eq "x"]', `members[value eq "${alice}"]`, 'members[value eq "\\u0000"]', 'emails[type eq "work"].value', 'emails', 'name.givenName', 'userName', 'displayName', 'active', 'externalId', `${ENTERPRISE_URN}:manager`, `${ENTERPRISE_URN}:employeeNumber`, 'meta.created', 'id', 'groups', ''),
    filter.map((f) => `members[${f}]`), filter.map((f) => `emails[${f}].value`), nasty,
  );
  const patchBody = fc.oneof(
    fc.record({
      schemas: fc.oneof(fc.constant([PATCH_URN]), jsonish),
      Operations: fc.oneof(
        fc.array(fc.record({ op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'copy'), jsonish), path: patchPath, value: fc.oneof(jsonish, fc.array(memberRef, { maxLength: 3 }), fc.record({ members: fc.array(memberRef, { maxLength: 3 }) })) }, { requiredKeys: ['op'] }), { maxLength: 4 }),
        fc.integer({ min: 200, max: 5000 }).map((n) => Array.from({ length: n }, () => ({ op: 'add', path: 'members', value: [{ value: randomUUID() }] }))),
        jsonish,
      ),
    }, { requiredKeys: [] }),
    jsonish,
  );
  const searchBody = fc.record({ schemas: fc.oneof(fc.constant(['urn:ietf:params:scim:api:messages:2.0:SearchRequest']), jsonish), filter: fc.oneof(filter, jsonish), attributes: jsonish, excludedAttributes: jsonish, sortBy: fc.oneof(fc.constantFrom(...ATTRS), jsonish), sortOrder: jsonish, startIndex: jsonish, count: jsonish, cursor: jsonish }, { requiredKeys: [] });

  const listQuery = fc.record({
    filter, attributes: fc.oneof(fc.constantFrom(...ATTRS), nasty), excludedAttributes: fc.oneof(fc.constantFrom(...ATTRS), nasty), sortBy: fc.oneof(fc.constantFrom(...ATTRS), nasty),
    sortOrder: nasty, startIndex: fc.oneof(fc.integer().map(String), nasty), count: fc.oneof(fc.integer().map(String), nasty), cursor: nasty, [ENTERPRISE_URN]: nasty,
  }, { requiredKeys: [] }).map((q) => Object.entries(q).map(([k, v]) => `${encode(k)}=${encode(String(v))}`).join('&'));
  const rawQuery = fc.oneof(listQuery, fc.constantFrom('filter=%', 'filter=%E0%A4%A', 'filter=userName%20eq%20%22%ED%A0%80%22', 'attributes=%00', 'count=1e999', 'startIndex=-99999999999999999999', 'filter=' + 'a'.repeat(9000), 'a=1&a=2&a=3', 'filter=x&filter=y'));

  /** A body as text: a JSON value (escaped or not), raw broken JSON, or nothing. */
  const asText = (arb: fc.Arbitrary<unknown>) => fc.oneof({ weight: 6, arbitrary: arb.map(jsonText) }, { weight: 2, arbitrary: arb.map((v) => JSON.stringify(v) ?? 'null') }, { weight: 1, arbitrary: rawJson });

  const junkHeaders = fc.record({
    'if-match': fc.oneof(fc.constantFrom('*', 'W/"1"', 'W/"x"', '"1"', 'W/"99999999999999999999"', 'W/"-1"', 'W/"1e3"', 'W/"1\u0000"', '', ','), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })),
    'if-none-match': fc.constantFrom('*', 'W/"1"', 'garbage'),
    'x-request-id': fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
    accept: fc.constantFrom('text/html', '*/*', 'application/xml', ''),
    'user-agent': fc.constantFrom('Microsoft.Identity.Provisioning', 'Okta SCIM Client 1.0.0', 'x'.repeat(5000)),
  }, { requiredKeys: [] });
  const contentType = fc.oneof({ weight: 8, arbitrary: fc.constant('default') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=latin1', 'application/scim+json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '', 'application/json, application/json') }, { weight: 1, arbitrary: fc.constant('none') });
  const auth = (token: string) => fc.oneof({ weight: 9, arbitrary: fc.constant(`Bearer ${token}`) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `Bearer ${token}x`, `Bearer ${token}\u0000`, 'Bearer \u00ff\u00fe', `bearer ${token}`, `Bearer ${'a'.repeat(5000)}`), fc.string({ unit: 'grapheme-ascii', maxLength: 40 })) });

  const withHeaders = (family: Family, method: string, url: string, token: string, body: fc.Arbitrary<string | undefined>, defaultType: string): fc.Arbitrary<Case> =>
    fc.tuple(body, junkHeaders, contentType, auth(token)).map(([payload, extra, type, authorization]) => {
      const headers: Record<string, string> = { ...extra, authorization };
      if (payload !== undefined && type !== 'none') headers['content-type'] = type === 'default' ? defaultType : type;
      return { family, method, url, headers, ...(payload !== undefined ? { payload } : {}) };
    });

  const scimBase = `/scim/v2/${acme.name}`;
  const scim = (method: string, path: fc.Arbitrary<string>, body: fc.Arbitrary<string | undefined>) =>
    fc.tuple(path, fc.option(rawQuery, { nil: undefined, freq: 2 })).chain(([p, q]) => withHeaders('scim', method, `${scimBase}${p}${q ? `?${q}` : ''}`, acme.scim.token, body, 'application/scim+json'));
  const none = fc.constant(undefined);
  const resource = fc.constantFrom('/Users', '/Groups');
  const idPath = (ids: fc.Arbitrary<string>) => fc.tuple(resource, ids).map(([r, id]) => `${r}/${encode(id)}`);
  const scimCase: fc.Arbitrary<Case> = fc.oneof(
    scim('GET', resource, none),
    scim('GET', idPath(writableId), none),
    scim('GET', fc.oneof(fc.constantFrom('/ServiceProviderConfig', '/Schemas', '/ResourceTypes', '/ResourceTypes/User', `/Schemas/${USER_URN}`), nasty.map((s) => `/Schemas/${encode(s)}`), nasty.map((s) => `/ResourceTypes/${encode(s)}`)), none),
    scim('POST', fc.constant('/Users'), asText(userBody)),
    scim('POST', fc.constant('/Groups'), asText(groupBody)),
    scim('PUT', fc.oneof(fc.constantFrom(alice, bob), anyId).map((id) => `/Users/${encode(id)}`), asText(userBody)),
    scim('PUT', fc.oneof(fc.constantFrom(team, empty), anyId).map((id) => `/Groups/${encode(id)}`), asText(groupBody)),
    scim('PATCH', fc.oneof(fc.constantFrom(alice, bob), anyId).map((id) => `/Users/${encode(id)}`), asText(patchBody)),
    scim('PATCH', fc.oneof(fc.constantFrom(team, empty), anyId).map((id) => `/Groups/${encode(id)}`), asText(patchBody)),
    scim('DELETE', idPath(anyId), none),
    scim('POST', fc.constantFrom('/.search', '/Users/.search', '/Groups/.search'), asText(searchBody)),
    fc.constantFrom('PROPFIND', 'TRACE', 'OPTIONS', 'MKCOL', 'COPY', 'LOCK').chain((m) => scim(m, fc.constantFrom('/Users', '/Groups', `/Users/${alice}`, '/.search'), none)),
    scim('GET', fc.oneof(nasty.map((s) => `/${encode(s)}`), fc.constantFrom('/Users/', '//Users', '/Users/../Groups', '/Users/%', '/Users/%E0%A4%A', '/Users/%00', `/Users/${alice}/x`, '/Users/' + 'a'.repeat(300), '/Me', '/Bulk')), none),
    fc.tuple(nasty, resource).chain(([tenant, r]) => withHeaders('scim', 'GET', `/scim/v2/${encode(tenant)}${r}`, acme.scim.token, none, 'application/scim+json')),
  );

  const fillAdminPath = (path: string) => fc.tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constant(path.includes('{tenant}') && !/^\/v1\/admin\/tenants\/\{tenant\}$/.test(path) ? acme.name : 'missing-tenant') }, { weight: 3, arbitrary: nasty }),
    fc.oneof(anyId, fc.constant(randomUUID())),
  ).map(([tenant, id]) => path.replace('{tenant}', encode(tenant)).replace('{id}', encode(id)));
  const adminQuery = fc.option(fc.record({ limit: fc.oneof(fc.integer().map(String), nasty), cursor: nasty, status: nasty, search: nasty, before: nasty, token: nasty }, { requiredKeys: [] })
    .map((q) => Object.entries(q).map(([k, v]) => `${encode(k)}=${encode(String(v))}`).join('&')), { nil: undefined });
  const adminBody = fc.oneof(
    fc.dictionary(fc.constantFrom('name', 'displayName', 'label', 'scopes', 'expiresIn', 'overlap', 'reason', 'tenant', 'binding', 'rules', 'dialect', 'organization', 'connections', 'email', 'roles', 'groups', 'scope'), jsonish, { maxKeys: 5 }),
    jsonish,
  );
  const adminCase: fc.Arbitrary<Case> = fc.constantFrom(...adminRoutes).chain((route) => fc.tuple(fillAdminPath(route.path), adminQuery).chain(([path, q]) =>
    withHeaders('admin', route.method, `${path}${q ? `?${q}` : ''}`, adminToken, route.method === 'GET' || route.method === 'DELETE' ? fc.option(asText(adminBody), { nil: undefined, freq: 5 }) : asText(adminBody), 'application/json')));
  const adminOdd: fc.Arbitrary<Case> = fc.oneof(
    fc.constantFrom('PROPFIND', 'TRACE', 'OPTIONS', 'HEAD', 'PATCH').chain((m) => withHeaders('admin', m, '/v1/admin/tenants', adminToken, none, 'application/json')),
    fc.constantFrom('/v1/admin', '/v1/admin/', '/v1/admin/nope', '/v1/admin/tenants/%', '/v1/admin/tenants/%E0%A4%A', '/v1/admin/tenants/%00', `/v1/admin/tenants/${'a'.repeat(300)}`, '/v1/admin/tenants/acme/users/%ED%A0%80')
      .chain((url) => withHeaders('admin', 'GET', url, adminToken, none, 'application/json')),
  );

  const connection = h.connection('enterprise');
  const loginValue = fc.record({
    user: fc.oneof(fc.record({ user_id: fc.oneof(fc.constant('samlp|x'), nasty, jsonish), email: fc.oneof(fc.constant('x@bound.test'), nasty, jsonish), email_verified: jsonish, identities: fc.oneof(fc.array(fc.record({ provider: jsonish, user_id: jsonish, connection: fc.oneof(fc.constant(connection.name), nasty) }, { requiredKeys: [] }), { maxLength: 3 }), jsonish) }, { requiredKeys: [] }), jsonish),
    connection: fc.oneof(fc.constant(connection), fc.record({ id: fc.oneof(fc.constant(connection.id), nasty, jsonish), name: fc.oneof(fc.constant(connection.name), nasty), strategy: jsonish }, { requiredKeys: [] }), jsonish),
    organization: fc.oneof(fc.constant(null), fc.record({ id: fc.oneof(nasty, jsonish), name: fc.oneof(fc.constant('bound'), nasty) }, { requiredKeys: [] }), jsonish),
    loginsCount: jsonish, clientId: jsonish,
  }, { requiredKeys: [] });
  const validLogin = loginBody({ user_id: 'samlp|fuzz', email: 'fuzz@bound.test', email_verified: true, identities: [{ provider: 'samlp', user_id: 'fuzz', connection: connection.name }] }, connection);
  const loginCase: fc.Arbitrary<Case> = fc.tuple(
    fc.oneof({ weight: 6, arbitrary: loginValue.map(jsonText) }, { weight: 1, arbitrary: loginValue.map((v) => JSON.stringify(v)) }, { weight: 1, arbitrary: rawJson }, { weight: 1, arbitrary: fc.constant(JSON.stringify(validLogin)) }),
    fc.constantFrom('signed', 'signed', 'signed', 'none', 'garbage', 'other-body'), contentType,
  ).map(([payload, how, type]) => {
    const headers: Record<string, string> = {};
    if (how === 'signed') headers.authorization = `Bearer ${actionToken(payload)}`;
    if (how === 'garbage') headers.authorization = 'Bearer not.a.jwt';
    if (how === 'other-body') headers.authorization = `Bearer ${actionToken(`${payload} `)}`;
    if (type !== 'none') headers['content-type'] = type === 'default' ? 'application/json' : type;
    return { family: 'login', method: 'POST', url: '/v1/auth0/post-login', headers, payload };
  });

  const anyCase = fc.oneof({ weight: 12, arbitrary: scimCase }, { weight: 6, arbitrary: adminCase }, { weight: 1, arbitrary: adminOdd }, { weight: 3, arbitrary: loginCase });

  // ---- the run ------------------------------------------------------------------------------------

  const cases = fc.sample(anyCase, { seed: SEED, numRuns: RUNS });
  const families = ['scim', 'admin', 'login'].map((f) => `${f} ${cases.filter((c) => c.family === f).length}`).join(', ');
  t.comment(`malformed-input: seed ${SEED}, ${cases.length} requests (${families}; FUZZ_SEED / FUZZ_RUNS to change)`);
  const histogram = new Map<number, number>();
  const failures: string[] = [];
  const started = Date.now();
  const describe = (c: Case) => JSON.stringify({ method: c.method, url: c.url.length > 300 ? `${c.url.slice(0, 300)}…(${c.url.length})` : c.url, headers: Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 80)}…` : v])), payload: c.payload && c.payload.length > 400 ? `${c.payload.slice(0, 400)}…(${c.payload.length})` : c.payload });
  let baseline = await snapshot();

  for (const c of cases) {
    const write = c.method !== 'GET' && c.method !== 'HEAD' && c.method !== 'OPTIONS';
    let res;
    try {
      res = await h.app.inject({ method: c.method as 'GET', url: c.url, headers: c.headers, ...(c.payload !== undefined ? { payload: c.payload } : {}) });
    } catch (err) {
      // light-my-request refused to build the request (an illegal header value): not the server's answer.
      histogram.set(-1, (histogram.get(-1) ?? 0) + 1);
      if (!(err instanceof TypeError)) failures.push(`inject threw ${String(err)}: ${describe(c)}`);
      continue;
    }
    const status = res.statusCode;
    histogram.set(status, (histogram.get(status) ?? 0) + 1);
    if (status >= 500) failures.push(`${status} ${res.body.slice(0, 200)}: ${describe(c)}`);
    if (status >= 400 && c.method !== 'HEAD') {
      const problem = shapeProblem(c.family, status, res.headers['content-type'], res.body);
      if (problem) failures.push(`${status} wrong error shape (${problem}) ${res.body.slice(0, 200)}: ${describe(c)}`);
    }
    if (write) {
      const after = await snapshot();
      if (status >= 400 && after !== baseline) failures.push(`${status} rejected but changed the database (${changedParts(baseline, after)}): ${describe(c)}`);
      baseline = after;
    }
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const counts = [...histogram.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s === -1 ? 'not-sent' : s}: ${n}`).join(', ');
  t.comment(`malformed-input: ${cases.length} requests in ${seconds} s; status counts { ${counts} }`);
  const fiveHundreds = [...histogram.entries()].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);
  t.equal(fiveHundreds, 0, 'no 5xx');
  t.same(failures.slice(0, 40), [], `${failures.length} failing cases (first 40 shown)`);
});

const SNAPSHOT_PARTS = ['users', 'groups', 'group_members', 'tenants', 'scim_tokens', 'admin_tokens', 'tenant_sync_config', 'user_admin_overrides', 'admin_audit count'];

/** Which tables differ between two snapshots. */
function changedParts(before: string, after: string): string {
  const a = JSON.parse(before) as unknown[];
  const b = JSON.parse(after) as unknown[];
  return SNAPSHOT_PARTS.filter((_, i) => JSON.stringify(a[i]) !== JSON.stringify(b[i])).join(', ');
}

/** Why an error body does not have its API's shape, or undefined when it does. */
function shapeProblem(family: Family, status: number, type: unknown, text: string): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'not an object';
  switch (family) {
    case 'scim':
      if (typeof type !== 'string' || !type.startsWith('application/scim+json')) return `content-type ${String(type)}`;
      if (JSON.stringify(body.schemas) !== JSON.stringify([ERROR_URN])) return 'schemas';
      if (body.status !== String(status)) return 'status';
      return typeof body.detail === 'string' ? undefined : 'detail';
    case 'admin':
      if (body.statusCode !== status) return 'statusCode';
      return typeof body.error === 'string' && typeof body.code === 'string' && typeof body.message === 'string' ? undefined : 'error/code/message';
    case 'login':
      return typeof body.error === 'string' && typeof body.message === 'string' ? undefined : 'error/message';
  }
}
