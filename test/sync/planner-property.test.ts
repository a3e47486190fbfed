/**
 * Seeded random scenarios for the planner's promises: convergence in one plan (plan(apply(plan)) == []),
 * ordering (block before revoke, membership before its roles, delete alone) and scope (nothing outside
 * the tenant's managed orgs/tenant roles is removed; foreign app_metadata keys survive).
 */
import t from 'tap';
import { deriveDesiredState } from '../../src/sync/desired-state.js';
import { planUserSync } from '../../src/sync/planner.js';
import type { Auth0Snapshot, SyncAction, TenantAuth0Binding } from '../../src/sync/types.js';
import { applyActions, emptySnapshot } from './apply.js';
import { binding, connection, group, rulesConfig, user } from './builders.js';

/** mulberry32: small deterministic PRNG so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES = ['admin', 'viewer', 'editor', 'billing'];
const ORGS = ['acme', 'acme-eu', 'acme-us', 'globex'];
const GROUPS = ['g1', 'g2', 'g3', 'g4'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}
function subset<T>(r: () => number, xs: readonly T[]): T[] {
  return xs.filter(() => r() < 0.5);
}

function scenario(seed: number): { b: TenantAuth0Binding; d: ReturnType<typeof deriveDesiredState>; s: Auth0Snapshot } {
  const r = rng(seed);
  const b = binding({
    userModel: pick(r, ['isolated', 'shared'] as const),
    deprovision: pick(r, ['block', 'remove-from-org', 'delete'] as const),
    connections: [connection(pick(r, ['enterprise-scim', 'database'] as const))],
    attributeMapping: [
      { scim: 'name.givenName', auth0: 'given_name' },
      { scim: 'title', auth0: 'app_metadata.title' },
    ],
    ...(r() < 0.3 ? { organization: { name: 'acme' } } : {}),
  });
  const rules = rulesConfig({
    mode: pick(r, ['first-match', 'all-matching'] as const),
    requireMappedGroup: r() < 0.3,
    ...(r() < 0.4 ? { defaultGrant: { orgRoles: subset(r, ROLES), tenantRoles: subset(r, ROLES) } } : {}),
    rules: GROUPS.map((g, i) => ({
      id: `r${i}`, position: Math.floor(r() * 10), match: { by: 'id' as const, value: g },
      grant: { orgRoles: subset(r, ROLES), tenantRoles: subset(r, ROLES), organizations: subset(r, ORGS.slice(1, 3)) },
    })),
  });
  const resource = { userName: 'alice', name: { givenName: pick(r, ['Alice', 'Alicia']) }, ...(r() < 0.5 ? { title: 'CTO' } : {}) };
  const u = user({
    active: r() < 0.7, deleted: r() < 0.2, resource,
    groups: subset(r, GROUPS).map((g) => group(g, g.toUpperCase())),
  });
  const d = deriveDesiredState(u, b, rules);
  let s = emptySnapshot();
  if (r() < 0.7) {
    s = emptySnapshot({
      user: {
        user_id: 'u', blocked: r() < 0.3, given_name: pick(r, ['Alice', 'Al']),
        app_metadata: { foreign: 1, ...(r() < 0.5 ? { title: 'CEO' } : {}), ...(r() < 0.5 ? { organizations: subset(r, ORGS) } : {}) },
      },
      organizations: subset(r, ORGS).map((name) => ({ id: `org_${name}`, name, roleNames: subset(r, ROLES) })),
      tenantRoleNames: subset(r, [...ROLES, 'hand-made']),
      ...(r() < 0.2 ? { sessionsRevoked: false } : {}),
    });
  }
  return { b, d, s };
}

function orgOf(a: SyncAction): string | undefined {
  return 'org' in a ? a.org.name : undefined;
}

t.test('random scenarios converge in one plan and keep the ordering and scope promises', async (t) => {
  const SEEDS = 400;
  let nonEmpty = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { b, d, s } = scenario(seed);
    const actions = planUserSync(d, s, b);
    if (actions.length > 0) nonEmpty++;
    const applied = applyActions(s, actions);
    const again = planUserSync(d, applied, b);
    if (again.length > 0) {
      t.fail(`seed ${seed}: not idempotent`, { actions, again, snapshot: s, desired: d });
      continue;
    }
    if (applied.user && d.exists && !d.deleteUser) {
      // Reaches desired, not merely a fixed point: blocked flag, memberships and roles as derived.
      if (applied.user.blocked !== d.blocked) t.fail(`seed ${seed}: blocked ${String(applied.user.blocked)} ≠ desired`, { actions });
      for (const o of d.organizations) {
        const have = applied.organizations.find((x) => x.name === o.name);
        if (!have || o.roles.some((r) => !have.roleNames.includes(r.name))) t.fail(`seed ${seed}: org ${o.name} not as desired`, { actions });
      }
      for (const have of applied.organizations) {
        const m = d.managed.organizations.find((x) => x.name === have.name);
        const want = d.organizations.find((x) => x.name === have.name);
        if (m && !want) t.fail(`seed ${seed}: still a member of ${have.name}`, { actions });
        if (m && want && have.roleNames.some((r) => (m.allRoles || m.roles.includes(r)) && !want.roles.some((w) => w.name === r))) {
          t.fail(`seed ${seed}: extra managed roles in ${have.name}`, { actions });
        }
      }
      if (d.tenantRoles.some((r) => !applied.tenantRoleNames.includes(r.name))) t.fail(`seed ${seed}: tenant roles missing`, { actions });
    }
    const at = (type: SyncAction['type']) => actions.findIndex((a) => a.type === type);
    if (at('deleteUser') !== -1 && actions.length !== 1) t.fail(`seed ${seed}: deleteUser not alone`, { actions });
    if (actions.filter((a) => a.type === 'updateUser').length > 1) t.fail(`seed ${seed}: more than one updateUser`, { actions });
    const block = actions.findIndex((a) => a.type === 'updateUser' && a.patch.blocked === true);
    if (block !== -1 && !(at('revokeSessions') > block)) t.fail(`seed ${seed}: block not followed by revoke`, { actions });
    actions.forEach((a, i) => {
      if (a.type === 'addOrgRoles' && !s.organizations.some((o) => o.name === a.org.name)) {
        const added = actions.findIndex((x) => x.type === 'addMembership' && x.org.name === a.org.name);
        if (added === -1 || added > i) t.fail(`seed ${seed}: roles before membership in ${a.org.name}`, { actions });
      }
      const managedOrg = d.managed.organizations.some((m) => m.name === orgOf(a));
      if ((a.type === 'removeMembership' || a.type === 'removeOrgRoles') && !managedOrg) t.fail(`seed ${seed}: touched unmanaged org`, { a });
      if (a.type === 'removeTenantRoles' && a.roles.some((x) => !d.managed.tenantRoles.includes(x))) t.fail(`seed ${seed}: removed unmanaged tenant role`, { a });
    });
    if (applied.user) t.equal(applied.user.app_metadata?.['foreign'] ?? (s.user ? 'lost' : undefined), s.user ? 1 : undefined, `seed ${seed}: foreign app_metadata kept`);
    if (applied.user && s.organizations.some((o) => o.name === 'globex') && !d.managed.organizations.some((m) => m.name === 'globex')) {
      t.ok(applied.organizations.some((o) => o.name === 'globex'), `seed ${seed}: foreign org membership kept`);
    }
  }
  t.ok(nonEmpty > SEEDS / 2, `most scenarios needed work (${nonEmpty}/${SEEDS}), so the property is not vacuous`);
});
