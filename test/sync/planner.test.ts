import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { deriveDesiredState } from '../../src/sync/desired-state.js';
import { CALLS_PER_ACTION, estimateCalls, jsonEqual, planUserSync } from '../../src/sync/planner.js';
import type {
  Auth0Candidate, Auth0Snapshot, DesiredState, DirectoryUser, RulesConfig, SyncAction, TenantAuth0Binding,
} from '../../src/sync/types.js';
import { applyActions, emptySnapshot } from './apply.js';
import { binding, connection, group, rulesConfig, user } from './builders.js';

const ADMINS = group('g-admins', 'Admins', 'e-admins');
const EU = group('g-eu', 'EU', 'e-eu');
const GROUPS: Record<string, ReturnType<typeof group>> = { 'g-admins': ADMINS, 'g-eu': EU };

const rules = rulesConfig({ rules: [
  { id: 'r-admins', position: 1, match: { by: 'id', value: 'g-admins' }, grant: { orgRoles: ['admin'], tenantRoles: ['ops'] } },
  { id: 'r-eu', position: 2, match: { by: 'externalId', value: 'e-eu' }, grant: { orgRoles: ['viewer'], organizations: ['acme-eu'] } },
] });

/** Plans, applies and checks that planning again yields nothing: the planner's core promise. */
function converge(t: Test, d: DesiredState, s: Auth0Snapshot, b: TenantAuth0Binding): { actions: SyncAction[]; applied: Auth0Snapshot } {
  const actions = planUserSync(d, s, b);
  const applied = applyActions(s, actions);
  t.same(planUserSync(d, applied, b), [], 'idempotent: planning the applied state yields []');
  return { actions, applied };
}

function types(actions: readonly SyncAction[]): string[] {
  return actions.map((a) => a.type);
}

function sync(u: DirectoryUser, b: TenantAuth0Binding, s: Auth0Snapshot, r: RulesConfig = rules): Auth0Snapshot {
  return applyActions(s, planUserSync(deriveDesiredState(u, b, r), s, b));
}

interface PlannerCase {
  name: string;
  from: 'empty' | 'synced' | 'blocked';
  snapshot?: Partial<Auth0Snapshot>;
  binding?: Partial<TenantAuth0Binding>;
  requireMappedGroup?: boolean;
  user: { active?: boolean; deleted?: boolean; groups?: string[] };
  expect: string[];
  patch?: Record<string, unknown>;
}

t.test('lifecycle table (planner.cases.json)', async (t) => {
  const cases = JSON.parse(readFileSync(new URL('./planner.cases.json', import.meta.url), 'utf8')) as PlannerCase[];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const b = binding(c.binding);
      const r = { ...rules, requireMappedGroup: c.requireMappedGroup ?? false };
      let s = emptySnapshot();
      if (c.from !== 'empty') s = sync(user({ groups: [ADMINS] }), b, s, r);
      if (c.from === 'blocked') s = sync(user({ active: false, groups: [ADMINS] }), b, s, r);
      s = { ...s, ...c.snapshot };
      const groups = (c.user.groups ?? []).map((id) => GROUPS[id] ?? group(id, id));
      const d = deriveDesiredState(user({ active: c.user.active ?? true, deleted: c.user.deleted ?? false, groups }), b, r);
      const { actions } = converge(t, d, s, b);
      t.same(types(actions), c.expect, JSON.stringify(actions));
      if (c.patch) t.same(actions.find((a) => a.type === 'updateUser'), { type: 'updateUser', patch: c.patch, reason: actions.find((a) => a.type === 'updateUser')?.reason });
      for (const a of actions) t.ok(a.reason.length > 0, `${a.type} has a reason`);
    });
  }
});

t.test('creation per connection mode', async (t) => {
  const u = user({ groups: [ADMINS] });
  t.test('enterprise with inbound SCIM: forward, then the tenant mapping, membership and roles', async (t) => {
    const b = binding();
    const { actions } = converge(t, deriveDesiredState(u, b, rules), emptySnapshot(), b);
    t.match(actions[0], { type: 'createUser', mode: 'inbound-scim', connection: { name: 'acme-entra' }, identity: { userName: 'alice@acme.test', email: 'alice@acme.test' } });
    t.same(actions[1], { type: 'updateUser', patch: { given_name: 'Alice', family_name: 'Liddell' }, reason: 'update given_name, family_name' });
    t.same(actions.slice(2).map((a) => [a.type, 'org' in a ? a.org : undefined, 'roles' in a ? a.roles : undefined]), [
      ['addMembership', { name: 'acme', id: 'org_acme' }, undefined],
      ['addOrgRoles', { name: 'acme', id: 'org_acme' }, ['admin']],
      ['assignTenantRoles', undefined, ['ops']],
    ]);
    t.equal(actions.filter((a) => a.type === 'sendOnboarding').length, 0, 'SSO users need no onboarding');
  });
  t.test('database: create with the mapped profile, membership, roles, then the onboarding', async (t) => {
    for (const onboarding of ['password-ticket', 'invitation'] as const) {
      const b = binding({ connections: [connection('database')], onboarding });
      const { actions } = converge(t, deriveDesiredState(u, b, rules), emptySnapshot(), b);
      t.same(types(actions), ['createUser', 'addMembership', 'addOrgRoles', 'assignTenantRoles', 'sendOnboarding']);
      t.match(actions[0], { mode: 'database', connection: { name: 'acme-db' }, profile: { given_name: 'Alice', family_name: 'Liddell' }, appMetadata: {} });
      t.match(actions[4], { type: 'sendOnboarding', kind: onboarding, org: { name: 'acme', id: 'org_acme' } });
    }
    const none = binding({ connections: [connection('database')], onboarding: 'none' });
    t.notOk(types(planUserSync(deriveDesiredState(u, none, rules), emptySnapshot(), none)).includes('sendOnboarding'), 'onboarding none');
  });
  t.test('database without an email: held, not created', async (t) => {
    const b = binding({ connections: [connection('database')] });
    const actions = planUserSync(deriveDesiredState(user({ email: null }), b, rules), emptySnapshot(), b);
    t.same(types(actions), ['holdForReview']);
    t.match(actions[0]?.reason, /needs an email/);
  });
  t.test('enterprise without inbound SCIM: await first login, no membership calls', async (t) => {
    const b = binding({ connections: [connection('enterprise')] });
    const d = deriveDesiredState(u, b, rules);
    const actions = planUserSync(d, emptySnapshot(), b);
    t.same(types(actions), ['awaitFirstLogin']);
    t.match(actions[0]?.reason, /Auto-Membership adds the org membership/);
    t.equal(estimateCalls(actions), 0);
    const off = binding({ connections: [connection('enterprise', { assignMembershipOnLogin: false })] });
    t.match(planUserSync(d, emptySnapshot(), off)[0]?.reason, /Auto-Membership is off/);
    t.test('after the first login the user exists and gets membership and roles ahead of the next', async (t) => {
      const s = emptySnapshot({ user: { user_id: 'samlp|acme-saml|alice', blocked: false, given_name: 'Alice', family_name: 'Liddell' } });
      t.same(types(converge(t, d, s, b).actions), ['addMembership', 'addOrgRoles', 'assignTenantRoles']);
    });
  });
  t.test('no connection in the binding: held', async (t) => {
    const b = binding({ connections: [] });
    t.same(types(planUserSync(deriveDesiredState(u, b, rules), emptySnapshot(), b)), ['holdForReview']);
  });
  t.test('binding org without id: ensured (created if missing) before the first membership', async (t) => {
    const b = binding({ organization: { name: 'acme', displayName: 'Acme Inc.', metadata: { tier: 'gold' } } });
    const { actions } = converge(t, deriveDesiredState(u, b, rules), emptySnapshot(), b);
    t.same(types(actions), ['createUser', 'updateUser', 'ensureOrganization', 'addMembership', 'addOrgRoles', 'assignTenantRoles']);
    t.match(actions[2], { org: { name: 'acme', displayName: 'Acme Inc.', metadata: { tier: 'gold' } } });
    t.same(actions[3], { type: 'addMembership', org: { name: 'acme' }, reason: 'member of acme: 1 reason(s)' });
  });
});

t.test('an existing Auth0 user is linked, never duplicated', async (t) => {
  const b = binding();
  const d = deriveDesiredState(user({ groups: [ADMINS] }), b, rules);
  const existing: Auth0Candidate = {
    user_id: 'samlp|acme-entra|alice', blocked: false, email: 'Alice@Acme.test', email_verified: true,
    identities: [{ connection: 'acme-entra' }], given_name: 'Alice', family_name: 'Liddell',
    organizations: [{ id: 'org_acme', name: 'acme', roleNames: ['admin'] }],
  };
  t.test('one verified match on a tenant connection', async (t) => {
    const { actions } = converge(t, d, emptySnapshot({ candidates: [existing] }), b);
    t.same(types(actions), ['linkExisting', 'assignTenantRoles'], 'only what the linked user lacks');
    t.match(actions[0], { userId: 'samlp|acme-entra|alice' });
  });
  t.test('memberships unknown: adds planned (idempotent in Auth0), nothing removed', async (t) => {
    const { organizations: _o, ...bare } = existing;
    t.same(types(converge(t, d, emptySnapshot({ candidates: [bare] }), b).actions), ['linkExisting', 'addMembership', 'addOrgRoles', 'assignTenantRoles']);
  });
  t.test('unverified email: held (takeover risk), not linked and not duplicated', async (t) => {
    const actions = planUserSync(d, emptySnapshot({ candidates: [{ ...existing, email_verified: false }] }), b);
    t.same(types(actions), ['holdForReview']);
    t.match(actions[0]?.reason, /unverified/);
  });
  t.test('two verified matches: held for an admin', async (t) => {
    const actions = planUserSync(d, emptySnapshot({ candidates: [existing, { ...existing, user_id: 'auth0|other', identities: [{ connection: 'acme-entra' }] }] }), b);
    t.same(types(actions), ['holdForReview']);
    t.match(actions[0]?.reason, /2 Auth0 users/);
  });
  t.test('a match on another tenant\'s connection is not ours: create', async (t) => {
    const foreign = { ...existing, identities: [{ connection: 'globex-db' }] };
    t.equal(planUserSync(d, emptySnapshot({ candidates: [foreign] }), b)[0]?.type, 'createUser');
  });
});

t.test('group rename: keyed by id keeps roles, keyed by displayName loses them', async (t) => {
  const b = binding();
  const byId = rulesConfig({ rules: [{ id: 'r', position: 1, match: { by: 'id', value: 'g-admins' }, grant: { orgRoles: ['admin'] } }] });
  const byName = rulesConfig({ rules: [{ id: 'r', position: 1, match: { by: 'displayName', value: 'Admins' }, grant: { orgRoles: ['admin'] } }] });
  const renamed = group('g-admins', 'Administrators', 'e-admins');
  for (const [r, expected] of [[byId, []], [byName, [['removeOrgRoles', ['admin']]]]] as const) {
    const s = sync(user({ groups: [ADMINS] }), b, emptySnapshot(), r);
    t.same(s.organizations, [{ id: 'org_acme', name: 'acme', roleNames: ['admin'] }]);
    const { actions } = converge(t, deriveDesiredState(user({ groups: [renamed] }), b, r), s, b);
    t.same(actions.map((a) => [a.type, 'roles' in a ? a.roles : undefined]), expected, r.rules[0]?.match.by ?? '');
  }
});

t.test('role diffs add only what is missing and remove only what is extra and managed', async (t) => {
  const b = binding();
  const d = deriveDesiredState(user({ groups: [ADMINS] }), b, rules);
  const s = emptySnapshot({
    user: { user_id: 'u', blocked: false, given_name: 'Alice', family_name: 'Liddell' },
    organizations: [
      { id: 'org_acme', name: 'acme', roleNames: ['admin', 'dashboard-made'] },
      { id: 'org_other', name: 'other', roleNames: ['x'] },
    ],
    tenantRoleNames: ['hand-assigned'],
  });
  const { actions } = converge(t, d, s, b);
  t.same(actions.map((a) => [a.type, 'roles' in a ? a.roles : undefined]), [
    ['removeOrgRoles', ['dashboard-made']], // the binding org is wholly Provisio's: drift repaired
    ['assignTenantRoles', ['ops']], // hand-assigned tenant role not named by any rule: left alone
  ]);
  t.equal(actions.filter((a) => 'org' in a && a.org.name === 'other').length, 0, 'an org this tenant does not manage is untouched');
});

t.test('updateUser carries only changed fields; app_metadata keys changed or null', async (t) => {
  const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  const b = binding({ attributeMapping: [
    { scim: 'name.givenName', auth0: 'given_name' },
    { scim: 'name.familyName', auth0: 'family_name' },
    { scim: 'displayName', auth0: 'name' },
    { scim: 'emails[type eq "work"].value', auth0: 'email' },
    { scim: `${ENT}:department`, auth0: 'app_metadata.department' },
    { scim: `${ENT}:division`, auth0: 'app_metadata.division' },
  ] });
  const resource = { userName: 'a', name: { givenName: 'Alicia' }, emails: [{ type: 'work', value: 'ALICE@acme.test' }], [ENT]: { department: 'R&D' } };
  const d = deriveDesiredState(user({ resource }), b, rules);
  const s = emptySnapshot({
    user: {
      user_id: 'u', blocked: false, email: 'alice@acme.test', given_name: 'Alice', family_name: 'Liddell', name: 'alice@acme.test',
      app_metadata: { department: 'Sales', division: 'EMEA', foreign: 'kept' },
    },
    organizations: [{ id: 'org_acme', name: 'acme', roleNames: [] }],
  });
  const { actions, applied } = converge(t, d, s, b);
  t.same(actions, [{ type: 'updateUser', patch: {
    given_name: 'Alicia', family_name: null, app_metadata: { department: 'R&D', division: null },
  }, reason: 'update given_name, family_name, app_metadata' }], 'email differs only in case; name is Auth0-derived and not unset');
  t.same(applied.user?.app_metadata, { department: 'R&D', foreign: 'kept' });
});

t.test('shared model: further orgs, foreign memberships and the organizations list', async (t) => {
  const b = binding({ userModel: 'shared' });
  const s0 = emptySnapshot({
    user: { user_id: 'u', blocked: false, given_name: 'Alice', family_name: 'Liddell', app_metadata: { organizations: ['globex'] } },
    organizations: [{ id: 'org_globex', name: 'globex', roleNames: ['boss'] }],
  });
  const join = converge(t, deriveDesiredState(user({ groups: [ADMINS, EU] }), b, rules), s0, b);
  t.same(join.actions.map((a) => [a.type, 'org' in a ? a.org.name : undefined, 'roles' in a ? a.roles : undefined]), [
    ['updateUser', undefined, undefined],
    ['addMembership', 'acme', undefined],
    ['addOrgRoles', 'acme', ['admin', 'viewer']],
    ['addMembership', 'acme-eu', undefined],
    ['addOrgRoles', 'acme-eu', ['viewer']],
    ['assignTenantRoles', undefined, ['ops']],
  ]);
  t.same(join.actions[0], { type: 'updateUser', patch: { app_metadata: { organizations: ['globex', 'acme', 'acme-eu'] } }, reason: 'update app_metadata' });
  const leave = converge(t, deriveDesiredState(user({ groups: [ADMINS] }), b, rules), join.applied, b);
  t.same(types(leave.actions), ['updateUser', 'removeOrgRoles', 'removeMembership']);
  t.same(leave.applied.user?.app_metadata, { organizations: ['globex', 'acme'] });
  t.same(leave.applied.organizations.map((o) => o.name), ['globex', 'acme']);
  t.test('delete policy on a shared identity still used elsewhere: remove ours instead of deleting', async (t) => {
    const bd = binding({ userModel: 'shared', deprovision: 'delete' });
    const { actions, applied } = converge(t, deriveDesiredState(user({ deleted: true }), bd, rules), join.applied, bd);
    t.same(types(actions), ['updateUser', 'removeMembership', 'removeMembership', 'removeTenantRoles', 'revokeSessions']);
    t.match(actions[4]?.reason, /shared with other organizations/);
    t.same(applied.organizations.map((o) => o.name), ['globex']);
    t.same(applied.user?.app_metadata, { organizations: ['globex'] });
  });
  t.test('delete policy on a shared identity used by us alone: delete', async (t) => {
    const bd = binding({ userModel: 'shared', deprovision: 'delete' });
    const ours = { ...join.applied, organizations: join.applied.organizations.filter((o) => o.name !== 'globex') };
    t.same(types(planUserSync(deriveDesiredState(user({ deleted: true }), bd, rules), ours, bd)), ['deleteUser']);
  });
});

t.test('the binding org is matched by id when Auth0 renamed it', async (t) => {
  const b = binding();
  const s = emptySnapshot({ user: { user_id: 'u', blocked: false, given_name: 'Alice', family_name: 'Liddell' }, organizations: [{ id: 'org_acme', name: 'acme-renamed', roleNames: ['admin'] }], tenantRoleNames: ['ops'] });
  t.same(planUserSync(deriveDesiredState(user({ groups: [ADMINS] }), b, rules), s, b), []);
});

t.test('estimateCalls counts Management API calls per action', async (t) => {
  const b = binding({ connections: [connection('database')], organization: { name: 'acme' } });
  const actions = planUserSync(deriveDesiredState(user({ groups: [ADMINS] }), b, rules), emptySnapshot(), b);
  t.same(types(actions), ['createUser', 'ensureOrganization', 'addMembership', 'addOrgRoles', 'assignTenantRoles', 'sendOnboarding']);
  t.equal(estimateCalls(actions), 6);
  t.equal(estimateCalls([]), 0);
  t.equal(estimateCalls([{ type: 'linkExisting', userId: 'x', reason: 'r' }, { type: 'holdForReview', reason: 'r' }]), 0);
  t.equal(Object.keys(CALLS_PER_ACTION).length, 15, 'every action type has a cost');
});

t.test('jsonEqual ignores key order and undefined keys', async (t) => {
  t.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  t.ok(jsonEqual({ a: 1, x: undefined }, { a: 1 }));
  t.notOk(jsonEqual([1, 2], [2, 1]));
  t.notOk(jsonEqual({ a: null }, {}));
});
