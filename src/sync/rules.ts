/**
 * Group → role rules (issue 6 "Group → role rules"): which of a user's groups (direct or nested) match which
 * rules, in what precedence, and what they grant — with the provenance that answers "why does Alice have
 * role X". Pure: the groups and rules come in as data.
 */
import type { DesiredRole, DirectoryGroupRef, Grant, Provenance, RoleRule, RulesConfig } from './types.js';

/** Auth0 caps role assignments per org member and per user at 50 (research/auth0.md §0.3, §1.5). */
export const MAX_ORG_MEMBER_ROLES = 50;
/** Auth0 caps tenant (RBAC) roles per user at 50 (research/auth0.md §1.5). */
export const MAX_TENANT_ROLES = 50;

/** A further organization granted by rules, with the org roles granted there. */
export interface GrantedOrganization {
  name: string;
  roles: DesiredRole[];
  because: Provenance[];
}

/** One grant that took effect, with why (a rule + group, or the default). */
export interface AppliedGrant {
  ruleId: string | null;
  grant: Grant;
  because: Provenance[];
}

/** The union of the grants that took effect for one user. */
export interface RuleGrants {
  /** The user is in at least one group some rule maps (decides `requireMappedGroup`). */
  mapped: boolean;
  /** False only when `requireMappedGroup` is on and no rule matched. */
  membership: boolean;
  applied: AppliedGrant[];
  /** Roles in the binding's organization. */
  orgRoles: DesiredRole[];
  tenantRoles: DesiredRole[];
  /** Further organizations (shared model), each with the org roles of the grants that named it. */
  organizations: GrantedOrganization[];
}

/** Result of evaluating a tenant's rules for one user. */
export interface RuleEvaluation {
  grants: RuleGrants;
  warnings: string[];
}

/** Case-insensitive display-name comparison key (IdPs vary case between systems; rules should not). */
function nameKey(s: string): string {
  return s.normalize('NFC').toLowerCase();
}

/** True when `group` matches `rule`. id/externalId are exact: they are opaque identifiers. */
export function groupMatchesRule(group: DirectoryGroupRef, rule: RoleRule): boolean {
  switch (rule.match.by) {
    case 'id':
      return group.id === rule.match.value;
    case 'externalId':
      return group.externalId !== null && group.externalId === rule.match.value;
    case 'displayName':
      return nameKey(group.displayName) === nameKey(rule.match.value);
  }
}

/** Rules in precedence order: `position` ascending, then `id` so ties are deterministic. */
export function orderRules(rules: readonly RoleRule[]): RoleRule[] {
  return [...rules].sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function ruleProvenance(rule: RoleRule, group: DirectoryGroupRef): Provenance {
  const p: Provenance = { kind: 'rule', ruleId: rule.id, groupId: group.id, groupDisplayName: group.displayName };
  if (group.via && group.via.length > 0) p.via = [...group.via];
  return p;
}

/** Adds `name` with `because` to an ordered, de-duplicated role list. */
function addRole(list: DesiredRole[], name: string, because: readonly Provenance[]): void {
  const existing = list.find((r) => r.name === name);
  if (existing) existing.because.push(...because);
  else list.push({ name, because: [...because] });
}

/** Warnings for role counts beyond Auth0's limits; the roles are still planned, Auth0 will refuse (409). */
export function roleLimitWarnings(orgs: readonly { name: string; roles: readonly unknown[] }[], tenantRoleCount: number): string[] {
  const warnings: string[] = [];
  for (const org of orgs) {
    if (org.roles.length > MAX_ORG_MEMBER_ROLES) {
      warnings.push(`${org.roles.length} org roles in organization "${org.name}" exceed Auth0's limit of ${MAX_ORG_MEMBER_ROLES} roles per organization member; Auth0 will refuse the excess (409)`);
    }
  }
  if (tenantRoleCount > MAX_TENANT_ROLES) {
    warnings.push(`${tenantRoleCount} tenant roles exceed Auth0's limit of ${MAX_TENANT_ROLES} roles per user; Auth0 will refuse the excess`);
  }
  return warnings;
}

/** Configuration problems that do not depend on the user (duplicate positions or ids, dead defaults). */
export function rulesConfigWarnings(config: RulesConfig): string[] {
  const warnings: string[] = [];
  const seenPos = new Map<number, string>();
  const seenId = new Set<string>();
  for (const rule of orderRules(config.rules)) {
    if (seenId.has(rule.id)) warnings.push(`rule id "${rule.id}" is used more than once`);
    seenId.add(rule.id);
    const other = seenPos.get(rule.position);
    if (other !== undefined && config.mode === 'first-match') {
      warnings.push(`rules "${other}" and "${rule.id}" share position ${rule.position}; "${other}" wins by id order`);
    }
    seenPos.set(rule.position, rule.id);
  }
  if (config.requireMappedGroup && config.defaultGrant) {
    warnings.push('defaultGrant is ignored because requireMappedGroup is on (a user in no mapped group gets no membership)');
  }
  return warnings;
}

/**
 * Evaluates `config` for a user in `groups` (direct and nested). `first-match`: only the lowest-position
 * rule matching any group applies; `all-matching`: every matching rule applies. A user in no mapped group
 * gets `defaultGrant`, or no membership when `requireMappedGroup`. Limits are warned about, never truncated;
 * `bindingOrgName` only names the binding org in those warnings.
 */
export function evaluateRules(
  groups: readonly DirectoryGroupRef[], config: RulesConfig, bindingOrgName = '(binding organization)',
): RuleEvaluation {
  const warnings = rulesConfigWarnings(config);
  const applied: AppliedGrant[] = [];
  for (const rule of orderRules(config.rules)) {
    const because = groups.filter((g) => groupMatchesRule(g, rule)).map((g) => ruleProvenance(rule, g));
    if (because.length === 0) continue;
    applied.push({ ruleId: rule.id, grant: rule.grant, because });
    if (config.mode === 'first-match') break;
  }
  const mapped = applied.length > 0;
  let membership = true;
  if (!mapped) {
    if (config.requireMappedGroup) membership = false;
    else if (config.defaultGrant) applied.push({ ruleId: null, grant: config.defaultGrant, because: [{ kind: 'default' }] });
  }

  const orgRoles: DesiredRole[] = [];
  const tenantRoles: DesiredRole[] = [];
  const organizations: GrantedOrganization[] = [];
  for (const { grant, because } of applied) {
    for (const role of grant.orgRoles) addRole(orgRoles, role, because);
    for (const role of grant.tenantRoles) addRole(tenantRoles, role, because);
    for (const name of grant.organizations) {
      let org = organizations.find((o) => o.name === name);
      if (!org) {
        org = { name, roles: [], because: [] };
        organizations.push(org);
      }
      org.because.push(...because);
      for (const role of grant.orgRoles) addRole(org.roles, role, because);
    }
  }
  warnings.push(...roleLimitWarnings([{ name: bindingOrgName, roles: orgRoles }, ...organizations.filter((o) => o.name !== bindingOrgName)], tenantRoles.length));
  return { grants: { mapped, membership, applied, orgRoles, tenantRoles, organizations }, warnings };
}

/** Per-rule verdict for `provisio rules test`. */
export interface RuleVerdict {
  ruleId: string;
  position: number;
  match: string;
  matchedGroups: string[];
  applied: boolean;
  note: string;
}

/** What `provisio rules test` prints: each rule's verdict, the resulting grants and warnings. */
export interface RulesExplanation {
  verdicts: RuleVerdict[];
  grants: RuleGrants;
  warnings: string[];
  lines: string[];
}

/** A bare string stands for a group whose id, externalId and displayName are all that string. */
function toRef(g: string | DirectoryGroupRef): DirectoryGroupRef {
  return typeof g === 'string' ? { id: g, externalId: g, displayName: g } : g;
}

function describeProvenance(p: Provenance): string {
  switch (p.kind) {
    case 'rule':
      return `rule ${p.ruleId} via group "${p.groupDisplayName}"${p.via ? ` (nested through ${p.via.join(' → ')})` : ''}`;
    case 'default':
      return 'the default grant';
    case 'binding':
      return 'the tenant binding';
    case 'deprovision':
      return `deprovision policy ${p.policy}`;
    case 'admin':
      return `${p.action} by admin ${p.actor}`;
  }
}

/** Human-readable provenance list, e.g. for `provisio status`. */
export function describeBecause(because: readonly Provenance[]): string {
  return because.map(describeProvenance).join('; ');
}

/**
 * Explains how `config` treats a user in `groups`; bare strings are tried as id, externalId and display
 * name alike, so an admin can test with what they see in the IdP.
 */
export function explainRules(groups: readonly (string | DirectoryGroupRef)[], config: RulesConfig): RulesExplanation {
  const refs = groups.map(toRef);
  const { grants, warnings } = evaluateRules(refs, config);
  const appliedIds = new Set(grants.applied.map((a) => a.ruleId));
  let firstMatchTaken = false;
  const verdicts: RuleVerdict[] = orderRules(config.rules).map((rule) => {
    const matchedGroups = refs.filter((g) => groupMatchesRule(g, rule)).map((g) => g.displayName);
    const applied = appliedIds.has(rule.id);
    let note: string;
    if (applied) note = `applies (${rule.match.by} matches ${matchedGroups.map((n) => `"${n}"`).join(', ')})`;
    else if (matchedGroups.length > 0 && firstMatchTaken) note = 'matches but an earlier rule won (first-match)';
    else note = `no group has ${rule.match.by} "${rule.match.value}"`;
    if (applied) firstMatchTaken = config.mode === 'first-match';
    return { ruleId: rule.id, position: rule.position, match: `${rule.match.by}=${rule.match.value}`, matchedGroups, applied, note };
  });
  const lines = verdicts.map((v) => `#${v.position} ${v.ruleId} [${v.match}]: ${v.note}`);
  if (!grants.membership) lines.push('no mapped group and requireMappedGroup is on: no membership');
  else if (!grants.mapped) lines.push(config.defaultGrant ? 'no mapped group: the default grant applies' : 'no mapped group: membership only');
  for (const r of grants.orgRoles) lines.push(`org role ${r.name} ← ${describeBecause(r.because)}`);
  for (const o of grants.organizations) lines.push(`organization ${o.name} (roles: ${o.roles.map((r) => r.name).join(', ') || 'none'}) ← ${describeBecause(o.because)}`);
  for (const r of grants.tenantRoles) lines.push(`tenant role ${r.name} ← ${describeBecause(r.because)}`);
  for (const w of warnings) lines.push(`warning: ${w}`);
  return { verdicts, grants, warnings, lines };
}
