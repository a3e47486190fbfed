/**
 * The emulator's tenant state: one in-memory store per emulator instance, indexed by id. Lookups that
 * Auth0 answers with a 404 throw the matching `Auth0ApiError` here so route modules stay short.
 */
import { notFound } from './errors.js';
import type {
  EmuAccessToken,
  EmuAction,
  EmuClient,
  EmuConnection,
  EmuInvitation,
  EmulatorStateData,
  EmuOrganization,
  EmuResourceServer,
  EmuRole,
  EmuScimConfiguration,
  EmuTicket,
  EmuTriggerBinding,
  EmuUser,
} from './types.js';

/** Deep copy through JSON: the state holds only JSON values. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function indexBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [key(item), item]));
}

/** In-memory store of one emulated Auth0 tenant. */
export class EmulatorState {
  clients = new Map<string, EmuClient>();
  tokens = new Map<string, EmuAccessToken>();
  connections = new Map<string, EmuConnection>();
  users = new Map<string, EmuUser>();
  organizations = new Map<string, EmuOrganization>();
  roles = new Map<string, EmuRole>();
  invitations = new Map<string, EmuInvitation>();
  tickets = new Map<string, EmuTicket>();
  /** Inbound SCIM configuration per connection id. */
  scim = new Map<string, EmuScimConfiguration>();
  actions = new Map<string, EmuAction>();
  /** Every trigger's bindings, in execution order within each trigger. */
  triggerBindings: EmuTriggerBinding[] = [];
  resourceServers = new Map<string, EmuResourceServer>();

  constructor(readonly domain: string) {}

  /** A deep copy of everything, safe to mutate or serialise. */
  toJSON(): EmulatorStateData {
    return clone({
      domain: this.domain,
      clients: [...this.clients.values()],
      tokens: Object.fromEntries(this.tokens),
      connections: [...this.connections.values()],
      users: [...this.users.values()],
      organizations: [...this.organizations.values()],
      roles: [...this.roles.values()],
      invitations: [...this.invitations.values()],
      tickets: [...this.tickets.values()],
      scim_configurations: [...this.scim.values()],
      actions: [...this.actions.values()],
      trigger_bindings: this.triggerBindings,
      resource_servers: [...this.resourceServers.values()],
    });
  }

  /** Replaces the whole state with `data` (deep-copied). The domain is kept. */
  load(data: EmulatorStateData): void {
    const d = clone(data);
    this.clients = indexBy(d.clients, (c) => c.client_id);
    this.tokens = new Map(Object.entries(d.tokens));
    this.connections = indexBy(d.connections, (c) => c.id);
    this.users = indexBy(d.users, (u) => u.user_id);
    this.organizations = indexBy(d.organizations, (o) => o.id);
    this.roles = indexBy(d.roles, (r) => r.id);
    this.invitations = indexBy(d.invitations, (i) => i.id);
    this.tickets = indexBy(d.tickets, (t) => t.id);
    this.scim = indexBy(d.scim_configurations, (s) => s.connection_id);
    this.actions = indexBy(d.actions ?? [], (a) => a.id);
    this.triggerBindings = d.trigger_bindings ?? [];
    this.resourceServers = indexBy(d.resource_servers ?? [], (r) => r.id);
  }

  /** Empties every collection (clients and tokens included). */
  clear(): void {
    for (const map of [
      this.clients, this.tokens, this.connections, this.users, this.organizations,
      this.roles, this.invitations, this.tickets, this.scim, this.actions, this.resourceServers,
    ]) map.clear();
    this.triggerBindings = [];
  }

  user(id: string): EmuUser {
    const user = this.users.get(id);
    if (!user) throw notFound('The user does not exist.', 'inexistent_user');
    return user;
  }

  organization(id: string): EmuOrganization {
    const org = this.organizations.get(id);
    if (!org) throw notFound('No organization found by that id or name', 'inexistent_organization');
    return org;
  }

  organizationByName(name: string): EmuOrganization | undefined {
    for (const org of this.organizations.values()) if (org.name === name) return org;
    return undefined;
  }

  role(id: string): EmuRole {
    const role = this.roles.get(id);
    if (!role) throw notFound('The role does not exist.', 'inexistent_role');
    return role;
  }

  resourceServerByIdentifier(identifier: string): EmuResourceServer | undefined {
    for (const api of this.resourceServers.values()) if (api.identifier === identifier) return api;
    return undefined;
  }

  connection(id: string): EmuConnection {
    const connection = this.connections.get(id);
    if (!connection) throw notFound('The connection does not exist', 'inexistent_connection');
    return connection;
  }

  connectionByName(name: string): EmuConnection | undefined {
    for (const c of this.connections.values()) if (c.name === name) return c;
    return undefined;
  }

  action(id: string): EmuAction {
    const action = this.actions.get(id);
    if (!action) throw notFound('The action does not exist.', 'inexistent_action');
    return action;
  }

  actionByName(name: string): EmuAction | undefined {
    for (const a of this.actions.values()) if (a.name === name) return a;
    return undefined;
  }

  /** Bindings of one trigger, in execution order. */
  bindingsOf(triggerId: string): EmuTriggerBinding[] {
    return this.triggerBindings.filter((b) => b.trigger_id === triggerId);
  }

  /** Organizations the user is a member of, in creation order. */
  organizationsOf(userId: string): EmuOrganization[] {
    return [...this.organizations.values()].filter((o) => o.members.some((m) => m.user_id === userId));
  }
}
