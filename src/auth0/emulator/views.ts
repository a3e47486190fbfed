/**
 * Response bodies built from stored entities, shaped like the spec's response schemas
 * (`UserResponseSchema`, `Organization`, `OrganizationMember`, `Role`, `ConnectionForList`, …).
 */
import type { EmuConnection, EmuEnabledConnection, EmuOrganization, EmuRole, EmuUser } from './types.js';
import type { EmulatorState } from './state.js';

/** Drops undefined values so optional fields are absent rather than null. */
function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** A user as the Management API returns it (internal bookkeeping fields removed). */
export function userView(u: EmuUser): Record<string, unknown> {
  const { roles: _roles, sessions: _sessions, refresh_tokens: _refresh, password_hash: _password, ...rest } = u;
  return compact({ ...rest });
}

/**
 * Applies `fields` / `include_fields` (spec: comma-separated list; include by default). Unknown names are
 * already rejected by the spec's `fields` pattern.
 */
export function project(view: Record<string, unknown>, query: Record<string, unknown>): Record<string, unknown> {
  const fields = typeof query['fields'] === 'string' ? query['fields'].split(',').filter(Boolean) : [];
  if (fields.length === 0) return view;
  const include = query['include_fields'] !== false;
  return Object.fromEntries(Object.entries(view).filter(([k]) => fields.includes(k) === include));
}

export function organizationView(o: EmuOrganization): Record<string, unknown> {
  return compact({ id: o.id, name: o.name, display_name: o.display_name, branding: o.branding, metadata: o.metadata });
}

export function enabledConnectionView(state: EmulatorState, e: EmuEnabledConnection): Record<string, unknown> {
  const c = state.connections.get(e.connection_id);
  return {
    connection_id: e.connection_id,
    assign_membership_on_login: e.assign_membership_on_login,
    show_as_button: e.show_as_button,
    is_signup_enabled: e.is_signup_enabled,
    connection: { name: c?.name ?? '', strategy: c?.strategy ?? '' },
  };
}

export function roleView(r: EmuRole): Record<string, unknown> {
  return { id: r.id, name: r.name, description: r.description };
}

/** `OrganizationMember` / `RoleUser`: the few profile fields lists carry. */
export function memberView(u: EmuUser | undefined, userId: string): Record<string, unknown> {
  return compact({ user_id: userId, email: u?.email, picture: u?.picture, name: u?.name });
}

/** `ConnectionForList` / `GetConnectionResponseContent` (the latter adds `enabled_clients`). */
export function connectionView(c: EmuConnection, withClients: boolean): Record<string, unknown> {
  return compact({
    id: c.id,
    name: c.name,
    display_name: c.display_name,
    strategy: c.strategy,
    options: c.options,
    realms: c.realms,
    is_domain_connection: c.is_domain_connection,
    metadata: c.metadata,
    enabled_clients: withClients ? c.enabled_clients : undefined,
  });
}
