import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  describeBecause, evaluateRules, explainRules, groupMatchesRule, MAX_ORG_MEMBER_ROLES, orderRules,
} from '../../src/sync/rules.js';
import type { DirectoryGroupRef, Grant, RoleRule, RulesConfig } from '../../src/sync/types.js';
import { group, rule, rulesConfig } from './builders.js';

interface RulesCase {
  name: string;
  config: Parameters<typeof rulesConfig>[0];
  groups: DirectoryGroupRef[];
  expect: {
    mapped: boolean;
    membership: boolean;
    orgRoles: string[];
    tenantRoles: string[];
    ruleIds: (string | null)[];
    organizations?: Record<string, string[]>;
    via?: string[];
    warnings?: string[];
  };
}

const cases = JSON.parse(readFileSync(new URL('./rules.cases.json', import.meta.url), 'utf8')) as RulesCase[];

t.test('rule table (rules.cases.json)', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const { grants, warnings } = evaluateRules(c.groups, rulesConfig(c.config));
      t.equal(grants.mapped, c.expect.mapped, 'mapped');
      t.equal(grants.membership, c.expect.membership, 'membership');
      t.same(grants.orgRoles.map((r) => r.name), c.expect.orgRoles, 'org roles');
      t.same(grants.tenantRoles.map((r) => r.name), c.expect.tenantRoles, 'tenant roles');
      t.same(grants.applied.map((a) => a.ruleId), c.expect.ruleIds, 'applied rules in precedence order');
      const orgs = Object.fromEntries(grants.organizations.map((o) => [o.name, o.roles.map((r) => r.name)]));
      t.same(orgs, c.expect.organizations ?? {}, 'further organizations');
      if (c.expect.via) {
        const because = grants.orgRoles[0]?.because[0];
        t.same(because?.kind === 'rule' ? because.via : undefined, c.expect.via, 'nested path in provenance');
      }
      const expectedWarnings = c.expect.warnings ?? [];
      t.equal(warnings.length, expectedWarnings.length, `warnings: ${warnings.join(' | ')}`);
      for (const w of expectedWarnings) t.ok(warnings.some((x) => x.includes(w)), `warning mentions "${w}"`);
    });
  }
});

t.test('provenance names the rule and the group (and the nesting path)', async (t) => {
  const config = rulesConfig({ rules: [
    { id: 'admins', position: 1, match: { by: 'externalId', value: 'e-adm' }, grant: { orgRoles: ['admin'], tenantRoles: ['ops'] } },
  ] });
  const { grants } = evaluateRules([group('g-team', 'Team'), group('g-adm', 'Admins', 'e-adm', ['g-team'])], config);
  t.same(grants.orgRoles, [{ name: 'admin', because: [{ kind: 'rule', ruleId: 'admins', groupId: 'g-adm', groupDisplayName: 'Admins', via: ['g-team'] }] }]);
  t.same(grants.tenantRoles[0]?.because, grants.orgRoles[0]?.because);
  t.equal(describeBecause(grants.orgRoles[0]?.because ?? []), 'rule admins via group "Admins" (nested through g-team)');
});

t.test('a role granted by two groups lists both reasons', async (t) => {
  const config = rulesConfig({ rules: [
    { id: 'r1', position: 1, match: { by: 'id', value: 'g1' }, grant: { orgRoles: ['viewer'] } },
    { id: 'r2', position: 2, match: { by: 'id', value: 'g2' }, grant: { orgRoles: ['viewer'] } },
  ] });
  const { grants } = evaluateRules([group('g1', 'One'), group('g2', 'Two')], config);
  t.equal(grants.orgRoles.length, 1);
  t.same(grants.orgRoles[0]?.because.map((b) => (b.kind === 'rule' ? b.ruleId : b.kind)), ['r1', 'r2']);
});

t.test('ordering and matching helpers', async (t) => {
  const rules: RoleRule[] = [rule('b', 5, { by: 'id', value: 'x' }), rule('a', 5, { by: 'id', value: 'x' }), rule('c', 1, { by: 'id', value: 'x' })];
  t.same(orderRules(rules).map((r) => r.id), ['c', 'a', 'b'], 'position, then id');
  t.same(rules.map((r) => r.id), ['b', 'a', 'c'], 'input not mutated');
  t.ok(groupMatchesRule(group('1', 'Équipe Ventes'), rule('r', 1, { by: 'displayName', value: 'ÉQUIPE VENTES' })), 'non-ASCII case');
  t.ok(groupMatchesRule(group('1', 'Cafe\u0301'), rule('r', 1, { by: 'displayName', value: 'CAFÉ' })), 'NFC-normalised');
  t.notOk(groupMatchesRule(group('1', 'Sales'), rule('r', 1, { by: 'externalId', value: 'Sales' })), 'null externalId');
  const { warnings } = evaluateRules([], { ...rulesConfig({ mode: 'first-match' }), rules });
  t.ok(warnings.some((w) => w.includes('share position 5')), 'position tie warned in first-match');
});

t.test('no cap on roles per group; more than 50 is warned about, never truncated', async (t) => {
  const many = Array.from({ length: MAX_ORG_MEMBER_ROLES + 1 }, (_, i) => `role-${i}`);
  const fifty = many.slice(0, 50);
  const g: Partial<Grant> = { orgRoles: many, tenantRoles: many, organizations: ['acme-eu'] };
  const config = rulesConfig({ rules: [{ id: 'big', position: 1, match: { by: 'id', value: 'g1' }, grant: g }] });
  const { grants, warnings } = evaluateRules([group('g1', 'Big')], config, 'acme');
  t.equal(grants.orgRoles.length, 51, 'all 51 org roles kept');
  t.equal(grants.tenantRoles.length, 51, 'all 51 tenant roles kept');
  t.equal(warnings.length, 3, warnings.join(' | '));
  t.match(warnings[0], /51 org roles in organization "acme" exceed Auth0's limit of 50/);
  t.match(warnings[1], /organization "acme-eu"/);
  t.match(warnings[2], /51 tenant roles exceed Auth0's limit of 50 roles per user/);
  const ok = evaluateRules([group('g1', 'Big')], rulesConfig({ rules: [{ id: 'ok', position: 1, match: { by: 'id', value: 'g1' }, grant: { orgRoles: fifty, tenantRoles: fifty } }] }));
  t.same(ok.warnings, [], 'exactly 50 is fine');
});

t.test('explainRules: per-rule verdicts for provisio rules test', async (t) => {
  const config: RulesConfig = rulesConfig({ mode: 'first-match', defaultGrant: { orgRoles: ['member'] }, rules: [
    { id: 'admins', position: 1, match: { by: 'displayName', value: 'Admins' }, grant: { orgRoles: ['admin'] } },
    { id: 'staff', position: 2, match: { by: 'displayName', value: 'Staff' }, grant: { orgRoles: ['viewer'] } },
    { id: 'eng', position: 3, match: { by: 'externalId', value: 'aad-eng' }, grant: { tenantRoles: ['dev'] } },
  ] });
  const e = explainRules(['admins', 'Staff'], config);
  t.same(e.verdicts.map((v) => v.applied), [true, false, false]);
  t.match(e.verdicts[0]?.note, /applies \(displayName matches "admins"\)/);
  t.equal(e.verdicts[1]?.note, 'matches but an earlier rule won (first-match)');
  t.equal(e.verdicts[2]?.note, 'no group has externalId "aad-eng"');
  t.ok(e.lines.includes('org role admin ← rule admins via group "admins"'), e.lines.join('\n'));
  const byExternal = explainRules(['aad-eng'], config);
  t.same(byExternal.verdicts.map((v) => v.applied), [false, false, true], 'a bare string is tried as externalId too');
  const none = explainRules(['Nobody'], config);
  t.ok(none.lines.includes('no mapped group: the default grant applies'));
  t.ok(none.lines.includes('org role member ← the default grant'));
  const required = explainRules([], { ...config, defaultGrant: undefined, requireMappedGroup: true });
  t.ok(required.lines.includes('no mapped group and requireMappedGroup is on: no membership'));
});
