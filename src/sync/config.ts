import type { Grant, RoleRule, RulesConfig, TenantAuth0Binding, TenantConnection } from './types.js';

/** A binding or rules document that cannot be used; the message names the field. */
export class SyncConfigError extends Error {
  override name = 'SyncConfigError';
}

/** Mass-deprovision guard (issue 6): more than `maxShare` of the tenant deprovisioned within the window is held. */
export interface GuardSettings {
  readonly maxShare: number;
  readonly windowMinutes: number;
  /** Below this many deprovisions in the window the guard never holds (small tenants, single departures). */
  readonly minUsers: number;
}

export const DEFAULT_GUARD: GuardSettings = { maxShare: 0.2, windowMinutes: 60, minUsers: 10 };

/**
 * What the Post-Login decision (src/login/) does with a user the directory does not know: `deny` (the
 * default: SCIM is the source of truth), `jit` (provision them at login), or `jit-if-domain` (only when the
 * verified email's domain is one of `emailDomains`). Claims are set under `claimsNamespace` (Auth0 custom
 * claims must be namespaced, research/auth0.md §4.3).
 */
export interface LoginPolicy {
  readonly jit: 'deny' | 'jit' | 'jit-if-domain';
  readonly emailDomains: readonly string[];
  readonly claimsNamespace: string;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = { jit: 'deny', emailDomains: [], claimsNamespace: 'https://provisio.dev/' };

/** The tenant's whole sync configuration, validated. */
export interface SyncConfig {
  /** `login` is always set by `parseBinding` (defaults: DEFAULT_LOGIN_POLICY); optional for hand-built bindings. */
  readonly binding: TenantAuth0Binding & { onboardingClientId?: string; login?: LoginPolicy };
  readonly rules: RulesConfig;
  readonly guard: GuardSettings;
}

type Obj = Record<string, unknown>;

/** Field readers of configuration documents: each throws a `SyncConfigError` naming the field (`where`). */
export function obj(value: unknown, where: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SyncConfigError(`${where} must be an object`);
  return value as Obj;
}

export function str(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new SyncConfigError(`${where} must be a non-empty string`);
  return value;
}

function optStr(value: unknown, where: string): string | undefined {
  return value === undefined || value === null ? undefined : str(value, where);
}

export function oneOf<T extends string>(value: unknown, options: readonly T[], fallback: T, where: string): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) throw new SyncConfigError(`${where} must be one of ${options.join(', ')}`);
  return value as T;
}

function strings(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new SyncConfigError(`${where} must be a list of names`);
  return value as string[];
}

const ORG_NAME = /^[a-z0-9_-]{1,50}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Validates `binding.login` (see LoginPolicy); the namespace is a URL and always ends with `/`. */
export function parseLoginPolicy(input: unknown): LoginPolicy {
  if (input === undefined || input === null) return DEFAULT_LOGIN_POLICY;
  const l = obj(input, 'binding.login');
  const jit = oneOf(l.jit, ['deny', 'jit', 'jit-if-domain'] as const, DEFAULT_LOGIN_POLICY.jit, 'binding.login.jit');
  const emailDomains = strings(l.emailDomains, 'binding.login.emailDomains').map((d) => d.toLowerCase());
  const bad = emailDomains.find((d) => !DOMAIN.test(d));
  if (bad !== undefined) throw new SyncConfigError(`binding.login.emailDomains: "${bad}" is not a domain name`);
  if (jit === 'jit-if-domain' && emailDomains.length === 0) throw new SyncConfigError('binding.login.emailDomains must list at least one domain when jit is jit-if-domain');
  let claimsNamespace = optStr(l.claimsNamespace, 'binding.login.claimsNamespace') ?? DEFAULT_LOGIN_POLICY.claimsNamespace;
  if (!/^https?:\/\/[^\s/]+/.test(claimsNamespace)) throw new SyncConfigError('binding.login.claimsNamespace must be an http(s) URL such as https://example.com/');
  if (!claimsNamespace.endsWith('/')) claimsNamespace += '/';
  return { jit, emailDomains, claimsNamespace };
}

/** Validates a binding document (defaults: isolated model, block on delete, password ticket, no mapping). */
export function parseBinding(input: unknown): SyncConfig['binding'] {
  const b = obj(input, 'binding');
  const org = obj(b.organization, 'binding.organization');
  const name = str(org.name, 'binding.organization.name');
  if (!ORG_NAME.test(name)) throw new SyncConfigError('binding.organization.name must be 1-50 lower-case letters, digits, "_" or "-" (Auth0 organization names)');
  const connectionsInput = b.connections;
  if (!Array.isArray(connectionsInput) || connectionsInput.length === 0) throw new SyncConfigError('binding.connections must list at least one Auth0 connection');
  const connections: TenantConnection[] = connectionsInput.map((c, i) => {
    const conn = obj(c, `binding.connections[${i}]`);
    const mode = oneOf(conn.mode, ['enterprise-scim', 'enterprise', 'database'] as const, 'database', `binding.connections[${i}].mode`);
    let scim: TenantConnection['scim'];
    if (conn.scim !== undefined) {
      const s = obj(conn.scim, `binding.connections[${i}].scim`);
      const url = str(s.url, `binding.connections[${i}].scim.url`);
      if (!/^https?:\/\//.test(url)) throw new SyncConfigError(`binding.connections[${i}].scim.url must be the connection's SCIM endpoint URL`);
      // A plain `token` (from a binding file) is sealed by `sealBindingSecrets` before it is stored.
      const sealedToken = typeof s.sealedToken === 'string' ? s.sealedToken : `plain:${str(s.token, `binding.connections[${i}].scim.token`)}`;
      scim = { url, sealedToken };
    }
    if (mode === 'enterprise-scim' && !scim) throw new SyncConfigError(`binding.connections[${i}] uses enterprise-scim: give scim.url and scim.token (Auth0 → connection → Provisioning)`);
    return {
      id: str(conn.id, `binding.connections[${i}].id`),
      name: str(conn.name, `binding.connections[${i}].name`),
      mode,
      assignMembershipOnLogin: conn.assignMembershipOnLogin === true,
      ...(scim ? { scim } : {}),
    };
  });
  const mappingInput = b.attributeMapping ?? [];
  if (!Array.isArray(mappingInput)) throw new SyncConfigError('binding.attributeMapping must be a list of {scim, auth0}');
  const metadata = org.metadata === undefined ? undefined : Object.fromEntries(Object.entries(obj(org.metadata, 'binding.organization.metadata')).map(([k, v]) => [k, str(v, `binding.organization.metadata.${k}`)]));
  return {
    organization: {
      name,
      ...(optStr(org.displayName, 'binding.organization.displayName') ? { displayName: org.displayName as string } : {}),
      ...(metadata ? { metadata } : {}),
      ...(optStr(org.id, 'binding.organization.id') ? { id: org.id as string } : {}),
    },
    connections,
    userModel: oneOf(b.userModel, ['isolated', 'shared'] as const, 'isolated', 'binding.userModel'),
    deprovision: oneOf(b.deprovision, ['block', 'remove-from-org', 'delete'] as const, 'block', 'binding.deprovision'),
    onboarding: oneOf(b.onboarding, ['password-ticket', 'invitation', 'none'] as const, 'none', 'binding.onboarding'),
    attributeMapping: mappingInput.map((m, i) => {
      const entry = obj(m, `binding.attributeMapping[${i}]`);
      return { scim: str(entry.scim, `binding.attributeMapping[${i}].scim`), auth0: str(entry.auth0, `binding.attributeMapping[${i}].auth0`) };
    }),
    ...(optStr(b.onboardingClientId, 'binding.onboardingClientId') ? { onboardingClientId: b.onboardingClientId as string } : {}),
    login: parseLoginPolicy(b.login),
  };
}

function parseGrant(input: unknown, where: string): Grant {
  const g = obj(input, where);
  return { orgRoles: strings(g.orgRoles, `${where}.orgRoles`), tenantRoles: strings(g.tenantRoles, `${where}.tenantRoles`), organizations: strings(g.organizations, `${where}.organizations`) };
}

/** Validates a rules document; rule ids default to their position, positions to list order. */
export function parseRules(input: unknown): RulesConfig {
  const r = input === undefined ? {} : obj(input, 'rules');
  const list = r.rules ?? [];
  if (!Array.isArray(list)) throw new SyncConfigError('rules.rules must be a list');
  const rules: RoleRule[] = list.map((item, i) => {
    const rule = obj(item, `rules.rules[${i}]`);
    const match = obj(rule.match, `rules.rules[${i}].match`);
    return {
      id: optStr(rule.id, `rules.rules[${i}].id`) ?? `rule-${i + 1}`,
      position: typeof rule.position === 'number' ? rule.position : i,
      match: { by: oneOf(match.by, ['externalId', 'id', 'displayName'] as const, 'displayName', `rules.rules[${i}].match.by`), value: str(match.value, `rules.rules[${i}].match.value`) },
      grant: parseGrant(rule.grant ?? {}, `rules.rules[${i}].grant`),
    };
  });
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw new SyncConfigError(`rules: two rules have the id "${rule.id}"`);
    ids.add(rule.id);
  }
  return {
    rules,
    mode: oneOf(r.mode, ['all-matching', 'first-match'] as const, 'all-matching', 'rules.mode'),
    ...(r.defaultGrant !== undefined ? { defaultGrant: parseGrant(r.defaultGrant, 'rules.defaultGrant') } : {}),
    requireMappedGroup: r.requireMappedGroup === true,
  };
}

export function parseGuard(input: unknown): GuardSettings {
  if (input === undefined || input === null) return DEFAULT_GUARD;
  const g = obj(input, 'guard');
  const num = (v: unknown, fallback: number, where: string, min: number, max: number) => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= min && v <= max)) throw new SyncConfigError(`${where} must be a number from ${min} to ${max}`);
    return v;
  };
  return {
    maxShare: num(g.maxShare, DEFAULT_GUARD.maxShare, 'guard.maxShare', 0, 1),
    windowMinutes: num(g.windowMinutes, DEFAULT_GUARD.windowMinutes, 'guard.windowMinutes', 1, 7 * 24 * 60),
    minUsers: num(g.minUsers, DEFAULT_GUARD.minUsers, 'guard.minUsers', 0, 1_000_000),
  };
}

/** Seals every plain inbound SCIM token of a parsed binding (done before storing it). */
export function sealBindingSecrets(binding: SyncConfig['binding'], seal: (plain: string) => string): SyncConfig['binding'] {
  return {
    ...binding,
    connections: binding.connections.map((c) =>
      c.scim?.sealedToken.startsWith('plain:') ? { ...c, scim: { url: c.scim.url, sealedToken: seal(c.scim.sealedToken.slice('plain:'.length)) } } : c),
  };
}

/** Validates a stored or submitted configuration. */
export function parseSyncConfig(input: { binding: unknown; rules?: unknown; guard?: unknown }): SyncConfig {
  return { binding: parseBinding(input.binding), rules: parseRules(input.rules), guard: parseGuard(input.guard) };
}
