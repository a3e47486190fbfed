/** Test data builders for the sync core: small defaults, override what the test is about. */
import type {
  DirectoryGroupRef, DirectoryUser, Grant, RoleRule, RulesConfig, TenantAuth0Binding, TenantConnection,
} from '../../src/sync/types.js';

/** A grant with empty lists unless given. */
export function grant(g: Partial<Grant> = {}): Grant {
  return { orgRoles: g.orgRoles ?? [], tenantRoles: g.tenantRoles ?? [], organizations: g.organizations ?? [] };
}

/** A rule; `grant` may be partial. */
export function rule(id: string, position: number, match: RoleRule['match'], g: Partial<Grant> = {}): RoleRule {
  return { id, position, match, grant: grant(g) };
}

/** A rules config from partial JSON (the shape of rules.cases.json). */
export function rulesConfig(c: {
  rules?: { id: string; position: number; match: RoleRule['match']; grant?: Partial<Grant> }[];
  mode?: RulesConfig['mode'];
  defaultGrant?: Partial<Grant>;
  requireMappedGroup?: boolean;
} = {}): RulesConfig {
  const config: RulesConfig = {
    rules: (c.rules ?? []).map((r) => rule(r.id, r.position, r.match, r.grant)),
    mode: c.mode ?? 'all-matching',
    requireMappedGroup: c.requireMappedGroup ?? false,
  };
  if (c.defaultGrant) config.defaultGrant = grant(c.defaultGrant);
  return config;
}

/** A directly assigned group. */
export function group(id: string, displayName: string, externalId: string | null = null, via?: string[]): DirectoryGroupRef {
  return via ? { id, externalId, displayName, via } : { id, externalId, displayName };
}

/** A connection of the given mode. */
export function connection(mode: TenantConnection['mode'], over: Partial<TenantConnection> = {}): TenantConnection {
  const name = { 'enterprise-scim': 'acme-entra', enterprise: 'acme-saml', database: 'acme-db' }[mode];
  return { id: `con_${name.replace(/-/g, '')}00000000`.slice(0, 20), name, mode, assignMembershipOnLogin: true, ...over };
}

/** Tenant binding for org `acme` (id known) on an inbound-SCIM enterprise connection. */
export function binding(over: Partial<TenantAuth0Binding> = {}): TenantAuth0Binding {
  return {
    organization: { name: 'acme', id: 'org_acme', displayName: 'Acme Inc.' },
    connections: [connection('enterprise-scim')],
    userModel: 'isolated',
    deprovision: 'block',
    onboarding: 'password-ticket',
    attributeMapping: [
      { scim: 'name.givenName', auth0: 'given_name' },
      { scim: 'name.familyName', auth0: 'family_name' },
    ],
    ...over,
  };
}

/** An active directory user alice@acme.test with a SCIM resource matching its facts. */
export function user(over: Partial<DirectoryUser> = {}): DirectoryUser {
  const resource: Record<string, unknown> = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: 'u1',
    userName: 'alice@acme.test',
    name: { givenName: 'Alice', familyName: 'Liddell' },
    emails: [{ value: 'alice@acme.test', type: 'work', primary: true }],
    active: true,
  };
  return {
    id: 'u1',
    userName: 'alice@acme.test',
    externalId: 'ext-alice',
    active: true,
    email: 'alice@acme.test',
    emailVerified: true,
    displayName: 'Alice Liddell',
    givenName: 'Alice',
    familyName: 'Liddell',
    resource,
    groups: [],
    deleted: false,
    ...over,
  };
}
