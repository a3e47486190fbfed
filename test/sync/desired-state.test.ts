import t from 'tap';
import { mapAttributes, readScimPath } from '../../src/sync/attribute-mapping.js';
import { deriveDesiredState, managedScope } from '../../src/sync/desired-state.js';
import { describeBecause } from '../../src/sync/rules.js';
import type { AttributeMapping, DesiredState, DirectoryUser } from '../../src/sync/types.js';
import { binding, group, rulesConfig, user } from './builders.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const rules = rulesConfig({ rules: [
  { id: 'r-admins', position: 1, match: { by: 'id', value: 'g-admins' }, grant: { orgRoles: ['admin'], tenantRoles: ['ops'] } },
  { id: 'r-eu', position: 2, match: { by: 'externalId', value: 'e-eu' }, grant: { orgRoles: ['viewer'], organizations: ['acme-eu'] } },
] });
const admins = group('g-admins', 'Admins');
const eu = group('g-eu', 'EU', 'e-eu');

function roleNames(d: DesiredState, org: string): string[] | undefined {
  return d.organizations.find((o) => o.name === org)?.roles.map((r) => r.name);
}

t.test('active user: exists, unblocked, member of the binding org with rule roles', async (t) => {
  const d = deriveDesiredState(user({ groups: [admins] }), binding(), rules);
  t.equal(d.exists, true);
  t.equal(d.blocked, false);
  t.equal(d.deleteUser, false);
  t.equal(d.revokeSessions, false);
  t.same(d.lifecycle, [{ kind: 'binding' }]);
  t.same(d.organizations.map((o) => o.name), ['acme']);
  t.same(d.organizations[0]?.because, [{ kind: 'binding' }], 'membership comes from the binding');
  t.same(d.organizations[0]?.roles, [{ name: 'admin', because: [{ kind: 'rule', ruleId: 'r-admins', groupId: 'g-admins', groupDisplayName: 'Admins' }] }]);
  t.same(d.tenantRoles.map((r) => r.name), ['ops']);
  t.same(d.profile, { given_name: 'Alice', family_name: 'Liddell' });
  t.same(d.appMetadata, {}, 'isolated model writes no organizations list');
  t.same(d.identity, { directoryUserId: 'u1', userName: 'alice@acme.test', externalId: 'ext-alice', email: 'alice@acme.test', emailVerified: true });
  t.same(d.warnings, []);
});

t.test('removal from the group drops the role, membership stays', async (t) => {
  const d = deriveDesiredState(user({ groups: [] }), binding(), rules);
  t.same(d.organizations.map((o) => o.name), ['acme']);
  t.same(roleNames(d, 'acme'), []);
  t.same(d.tenantRoles, []);
});

t.test('requireMappedGroup: a user in no mapped group gets no membership; a mapped one is a member because of the rule', async (t) => {
  const strict = { ...rules, requireMappedGroup: true };
  const none = deriveDesiredState(user({ groups: [group('g-x', 'X')] }), binding(), strict);
  t.same(none.organizations, []);
  t.same(none.tenantRoles, []);
  t.equal(none.exists, true, 'exists is about the directory; the planner creates no user without membership');
  const some = deriveDesiredState(user({ groups: [admins] }), binding(), strict);
  t.same(some.organizations[0]?.because.map((b) => b.kind), ['rule']);
});

t.test('default grant applies to members of no mapped group', async (t) => {
  const d = deriveDesiredState(user(), binding(), { ...rules, defaultGrant: { orgRoles: ['member'], tenantRoles: [], organizations: [] } });
  t.same(d.organizations[0]?.roles, [{ name: 'member', because: [{ kind: 'default' }] }]);
});

t.test('active:false → blocked + revoke sessions, memberships and roles kept', async (t) => {
  const d = deriveDesiredState(user({ active: false, groups: [admins] }), binding(), rules);
  t.equal(d.exists, true);
  t.equal(d.blocked, true);
  t.equal(d.revokeSessions, true);
  t.equal(d.deleteUser, false);
  t.same(d.lifecycle, [{ kind: 'deprovision', policy: 'deactivated' }]);
  t.same(roleNames(d, 'acme'), ['admin']);
  t.same(d.tenantRoles.map((r) => r.name), ['ops']);
});

t.test('deleted: each deprovision policy', async (t) => {
  const deleted = user({ deleted: true, groups: [admins] });
  const block = deriveDesiredState(deleted, binding({ deprovision: 'block' }), rules);
  t.same([block.exists, block.blocked, block.revokeSessions, block.deleteUser], [true, true, true, false], 'block');
  t.same(roleNames(block, 'acme'), ['admin'], 'block keeps memberships');
  t.same(block.lifecycle, [{ kind: 'deprovision', policy: 'block' }]);

  const remove = deriveDesiredState(deleted, binding({ deprovision: 'remove-from-org' }), rules);
  t.same([remove.exists, remove.blocked, remove.revokeSessions, remove.deleteUser], [true, false, true, false], 'remove-from-org');
  t.same(remove.organizations, []);
  t.same(remove.tenantRoles, []);

  const del = deriveDesiredState(deleted, binding({ deprovision: 'delete' }), rules);
  t.same([del.exists, del.blocked, del.revokeSessions, del.deleteUser], [false, false, false, true], 'delete');
  t.same(del.organizations, []);
  t.same(del.lifecycle, [{ kind: 'deprovision', policy: 'delete' }]);
});

t.test('shared model: further orgs from rules and app_metadata.organizations', async (t) => {
  const shared = binding({ userModel: 'shared' });
  const d = deriveDesiredState(user({ groups: [admins, eu] }), shared, rules);
  t.same(d.organizations.map((o) => o.name), ['acme', 'acme-eu']);
  t.same(roleNames(d, 'acme'), ['admin', 'viewer'], 'org roles hold in the binding org too');
  t.same(roleNames(d, 'acme-eu'), ['viewer']);
  t.same(d.organizations[1]?.because, [{ kind: 'rule', ruleId: 'r-eu', groupId: 'g-eu', groupDisplayName: 'EU' }]);
  t.same(d.appMetadata, { organizations: ['acme', 'acme-eu'] });
  t.same(d.managed, {
    organizations: [{ name: 'acme', allRoles: true, roles: [] }, { name: 'acme-eu', allRoles: false, roles: ['viewer'] }],
    tenantRoles: ['ops'],
  });
  const removed = deriveDesiredState(user({ deleted: true, groups: [admins, eu] }), binding({ userModel: 'shared', deprovision: 'remove-from-org' }), rules);
  t.same(removed.appMetadata, { organizations: [] }, 'our orgs leave the list');
});

t.test('isolated model: further orgs are ignored with a warning', async (t) => {
  const d = deriveDesiredState(user({ groups: [eu] }), binding(), rules);
  t.same(d.organizations.map((o) => o.name), ['acme']);
  t.same(roleNames(d, 'acme'), ['viewer']);
  t.equal(d.warnings.length, 1);
  t.match(d.warnings[0], /isolated user model: further organizations "acme-eu"/);
  t.same(managedScope(binding(), rules).organizations.map((o) => o.name), ['acme']);
});

t.test('shared model: a rule naming the binding org merges into it; invalid org names are warned about', async (t) => {
  const r = rulesConfig({ rules: [{ id: 'r', position: 1, match: { by: 'id', value: 'g1' }, grant: { orgRoles: ['x'], organizations: ['acme', 'Bad Name'] } }] });
  const d = deriveDesiredState(user({ groups: [group('g1', 'G')] }), binding({ userModel: 'shared' }), r);
  t.same(d.organizations.map((o) => o.name), ['acme', 'Bad Name']);
  t.same(roleNames(d, 'acme'), ['x']);
  t.ok(d.warnings.some((w) => w.includes('"Bad Name" is not a valid Auth0 organization name')));
});

t.test('more than 50 roles in the merged binding org is warned about once', async (t) => {
  const a = Array.from({ length: 30 }, (_, i) => `a${i}`);
  const b = Array.from({ length: 30 }, (_, i) => `b${i}`);
  const r = rulesConfig({ rules: [
    { id: 'ra', position: 1, match: { by: 'id', value: 'g1' }, grant: { orgRoles: a } },
    { id: 'rb', position: 2, match: { by: 'id', value: 'g2' }, grant: { orgRoles: b } },
  ] });
  const d = deriveDesiredState(user({ groups: [group('g1', '1'), group('g2', '2')] }), binding(), r);
  t.equal(roleNames(d, 'acme')?.length, 60, 'not truncated');
  t.same(d.warnings, ['60 org roles in organization "acme" exceed Auth0\'s limit of 50 roles per organization member; Auth0 will refuse the excess (409)']);
});

const resource: Record<string, unknown> = {
  userName: 'bob@acme.test',
  displayName: 'Bob',
  name: { givenName: 'Bob', familyName: 'Builder', formatted: '' },
  nickName: 42,
  emails: [
    { value: 'bob@home.test', type: 'home' },
    { value: 'bob@acme.test', type: 'work' },
    { value: 'b@acme.test', type: 'work', primary: true },
  ],
  phoneNumbers: [{ value: '+15550100', type: 'mobile' }],
  [ENT]: { department: 'R&D', costCenter: 'CC-7', manager: { value: 'u-boss', displayName: 'Boss' } },
  'urn:example:custom:1.0:User': { badge: { color: 'blue' } },
};

t.test('readScimPath: dotted, filtered, URN-qualified, case-insensitive', async (t) => {
  const cases: [string, unknown][] = [
    ['userName', 'bob@acme.test'],
    ['USERNAME', 'bob@acme.test'],
    ['name.givenName', 'Bob'],
    ['emails[type eq "work"].value', 'b@acme.test'],
    ['emails[type eq "home"].value', 'bob@home.test'],
    ['emails[type eq "other"].value', undefined],
    ['emails.value', 'b@acme.test'],
    ['emails[type eq "home"]', { value: 'bob@home.test', type: 'home' }],
    [`${ENT}:department`, 'R&D'],
    [`${ENT}:manager.value`, 'u-boss'],
    ['urn:example:custom:1.0:User:badge.color', 'blue'],
    ['title', undefined],
  ];
  for (const [path, want] of cases) t.same(readScimPath(resource, path), want, path);
  t.throws(() => readScimPath(resource, 'noSuchAttribute'), /Unknown attribute/);
});

t.test('mapAttributes: root fields, app_metadata keys, fallbacks, nulls and warnings', async (t) => {
  const mapping: AttributeMapping[] = [
    { scim: 'name.givenName', auth0: 'given_name' },
    { scim: 'name.formatted', auth0: 'name' },
    { scim: 'displayName', auth0: 'name' },
    { scim: 'emails[type eq "work"].value', auth0: 'email' },
    { scim: 'nickName', auth0: 'nickname' },
    { scim: `${ENT}:department`, auth0: 'app_metadata.department' },
    { scim: `${ENT}:division`, auth0: 'app_metadata.division' },
    { scim: `${ENT}:costCenter`, auth0: 'app_metadata.hr.costCenter' },
    { scim: `${ENT}:manager.value`, auth0: 'app_metadata.hr.manager' },
    { scim: 'title', auth0: 'app_metadata.job.title' },
    { scim: 'emails', auth0: 'app_metadata.emails' },
    { scim: 'name', auth0: 'given_name' },
    { scim: 'name.familyName', auth0: 'app_metadata.a$b' },
    { scim: 'name.familyName', auth0: 'blocked' },
    { scim: 'bogus', auth0: 'family_name' },
    { scim: 'userName', auth0: 'app_metadata.organizations' },
  ];
  const m = mapAttributes(resource, mapping, ['organizations']);
  t.same(m.profile, { given_name: 'Bob', name: 'Bob', email: 'b@acme.test', nickname: '42' }, 'first non-null wins, numbers stringified');
  t.same(m.appMetadata, {
    department: 'R&D',
    division: null,
    hr: { costCenter: 'CC-7', manager: 'u-boss' },
    job: null,
    emails: resource['emails'],
  });
  t.equal(m.warnings.length, 5, m.warnings.join('\n'));
  t.match(m.warnings[0], /name → given_name skipped: the SCIM value is not a string/);
  t.match(m.warnings[1], /app_metadata\.a\$b skipped/);
  t.match(m.warnings[2], /"blocked" is not an Auth0 profile field/);
  t.match(m.warnings[3], /bogus → family_name skipped: Unknown attribute/);
  t.match(m.warnings[4], /app_metadata\.organizations is maintained by Provisio/);
});

t.test('a mapped-but-absent attribute is null so the planner can unset it', async (t) => {
  const d = deriveDesiredState(user({ resource: { userName: 'alice@acme.test', name: { givenName: 'Alice' } } }), binding(), rules);
  t.same(d.profile, { given_name: 'Alice', family_name: null });
});

const ADMIN = 'token:delegated-1';
const over = (o: Partial<NonNullable<DirectoryUser['override']>>): DirectoryUser['override'] => ({ blocked: false, removedFromOrg: false, erase: false, actor: ADMIN, ...o });

t.test('admin block: blocked + revoke sessions, memberships and roles kept, explained by the admin', async (t) => {
  const d = deriveDesiredState(user({ groups: [admins], override: over({ blocked: true }) }), binding(), rules);
  t.same([d.exists, d.blocked, d.revokeSessions, d.deleteUser], [true, true, true, false]);
  t.same(roleNames(d, 'acme'), ['admin'], 'org roles kept so an unblock restores everything');
  t.same(d.tenantRoles.map((r) => r.name), ['ops']);
  t.same(d.lifecycle, [{ kind: 'admin', action: 'blocked', actor: ADMIN }]);
  t.equal(describeBecause(d.lifecycle), 'blocked by admin token:delegated-1');

  const both = deriveDesiredState(user({ active: false, override: over({ blocked: true }) }), binding(), rules);
  t.same(both.lifecycle, [{ kind: 'deprovision', policy: 'deactivated' }, { kind: 'admin', action: 'blocked', actor: ADMIN }], 'both reasons kept');

  const lifted = deriveDesiredState(user({ active: false, override: over({}) }), binding(), rules);
  t.equal(lifted.blocked, true, 'an override with no flag leaves the directory\'s block');
  t.same(lifted.lifecycle, [{ kind: 'deprovision', policy: 'deactivated' }]);
});

t.test('admin remove-from-org: no membership and no tenant role of this tenant; the block is the directory\'s', async (t) => {
  const d = deriveDesiredState(user({ groups: [admins], override: over({ removedFromOrg: true }) }), binding(), rules);
  t.same([d.exists, d.blocked, d.deleteUser], [true, false, false], 'the user stays and is not blocked');
  t.equal(d.revokeSessions, true, 'sessions go with the membership (as with the remove-from-org policy)');
  t.same(d.organizations, []);
  t.same(d.tenantRoles, []);
  t.same(d.managed, managedScope(binding(), rules), 'still authoritative for the same scope, so the planner removes');
  t.same(d.lifecycle, [{ kind: 'admin', action: 'removed-from-org', actor: ADMIN }]);

  const inactive = deriveDesiredState(user({ active: false, groups: [admins], override: over({ removedFromOrg: true }) }), binding(), rules);
  t.equal(inactive.blocked, true, 'directory active:false still blocks');

  const shared = deriveDesiredState(user({ groups: [admins, eu], override: over({ removedFromOrg: true }) }), binding({ userModel: 'shared' }), rules);
  t.same(shared.organizations, [], 'every org this tenant grants, not just the binding org');
  t.same(shared.appMetadata, { organizations: [] }, 'our orgs leave app_metadata.organizations');

  const blockedToo = deriveDesiredState(user({ override: over({ blocked: true, removedFromOrg: true }) }), binding(), rules);
  t.same([blockedToo.blocked, blockedToo.organizations.length], [true, 0]);
  t.same(blockedToo.lifecycle.map((p) => p.kind === 'admin' && p.action), ['blocked', 'removed-from-org']);
});

t.test('admin erase: the Auth0 user is deleted whatever the deprovision policy', async (t) => {
  for (const deprovision of ['block', 'remove-from-org', 'delete'] as const) {
    const d = deriveDesiredState(user({ deleted: true, active: false, groups: [admins], override: over({ erase: true, blocked: true }) }), binding({ deprovision }), rules);
    t.same([d.exists, d.blocked, d.revokeSessions, d.deleteUser], [false, false, false, true], `policy ${deprovision}`);
    t.same(d.organizations, []);
    t.same(d.tenantRoles, []);
    t.same(d.lifecycle, [{ kind: 'admin', action: 'erased', actor: ADMIN }]);
  }
  const live = deriveDesiredState(user({ override: over({ erase: true }) }), binding(), rules);
  t.equal(live.deleteUser, true, 'erase wins over an active directory user too');
});

t.test('deriveDesiredState is pure with an override: the input is not modified and results do not share state', async (t) => {
  const input = user({ groups: [admins], override: over({ blocked: true, removedFromOrg: true }) });
  const copy = structuredClone(input);
  const first = deriveDesiredState(input, binding(), rules);
  const expected = structuredClone(first);
  first.lifecycle.push({ kind: 'binding' });
  first.organizations.push({ name: 'x', roles: [], because: [] });
  t.same(input, copy, 'input untouched');
  t.same(deriveDesiredState(input, binding(), rules), expected, 'a second derivation is unaffected by changes to the first result');
});
