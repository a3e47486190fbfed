/**
 * A tiny in-memory Auth0 for planner tests: applies SyncActions to a snapshot the way the executor and
 * Auth0 would (PATCH merges first-level app_metadata, null unsets), so idempotence can be checked as
 * plan(apply(plan(s))) == [].
 */
import type { Auth0Snapshot, Auth0UserSnapshot, SyncAction } from '../../src/sync/types.js';

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Applies `actions` to a copy of `snapshot`; throws where Auth0 would refuse (roles of a non-member). */
export function applyActions(snapshot: Auth0Snapshot, actions: readonly SyncAction[]): Auth0Snapshot {
  const s = clone(snapshot);
  const org = (name: string) => s.organizations.find((o) => o.name === name);
  for (const a of actions) {
    switch (a.type) {
      case 'createUser': {
        const id = a.mode === 'database' ? 'auth0|new' : `samlp|${a.connection.name}|${a.identity.userName}`;
        const user: Auth0UserSnapshot = { user_id: id, blocked: false, identities: [{ connection: a.connection.name }] };
        if (a.identity.email) user.email = a.identity.email;
        // Inbound SCIM applies Auth0's own mapping, not the tenant's: no profile fields or app_metadata here.
        if (a.mode === 'database') Object.assign(user, clone(a.profile), { app_metadata: clone(a.appMetadata) });
        s.user = user;
        delete s.candidates;
        break;
      }
      case 'linkExisting': {
        const c = s.candidates?.find((x) => x.user_id === a.userId);
        if (!c) throw new Error(`no candidate ${a.userId}`);
        const { organizations, tenantRoleNames, ...user } = clone(c);
        s.user = user;
        s.organizations = organizations ?? [];
        s.tenantRoleNames = tenantRoleNames ?? [];
        delete s.candidates;
        break;
      }
      case 'updateUser': {
        if (!s.user) throw new Error('updateUser without a user');
        for (const [k, v] of Object.entries(a.patch)) {
          if (k === 'app_metadata') continue;
          if (v === null) delete s.user[k];
          else s.user[k] = clone(v);
        }
        if (a.patch.app_metadata) {
          const meta = { ...(s.user.app_metadata ?? {}) };
          for (const [k, v] of Object.entries(a.patch.app_metadata)) {
            if (v === null) delete meta[k];
            else meta[k] = clone(v);
          }
          s.user.app_metadata = meta;
        }
        break;
      }
      case 'revokeSessions':
        s.sessionsRevoked = true;
        break;
      case 'deleteUser':
        delete s.user;
        s.organizations = [];
        s.tenantRoleNames = [];
        break;
      case 'addMembership':
        if (!org(a.org.name)) s.organizations.push({ id: a.org.id ?? `org_${a.org.name}`, name: a.org.name, roleNames: [] });
        break;
      case 'removeMembership':
        s.organizations = s.organizations.filter((o) => o.name !== a.org.name);
        break;
      case 'addOrgRoles': {
        const o = org(a.org.name);
        if (!o) throw new Error(`roles in ${a.org.name} for a non-member`);
        for (const r of a.roles) if (!o.roleNames.includes(r)) o.roleNames.push(r);
        break;
      }
      case 'removeOrgRoles': {
        const o = org(a.org.name);
        if (o) o.roleNames = o.roleNames.filter((r) => !a.roles.includes(r));
        break;
      }
      case 'assignTenantRoles':
        for (const r of a.roles) if (!s.tenantRoleNames.includes(r)) s.tenantRoleNames.push(r);
        break;
      case 'removeTenantRoles':
        s.tenantRoleNames = s.tenantRoleNames.filter((r) => !a.roles.includes(r));
        break;
      case 'ensureOrganization':
      case 'sendOnboarding':
      case 'awaitFirstLogin':
      case 'holdForReview':
        break;
    }
  }
  return s;
}

/** An empty snapshot: no Auth0 user yet. */
export function emptySnapshot(over: Partial<Auth0Snapshot> = {}): Auth0Snapshot {
  return { organizations: [], tenantRoleNames: [], ...over };
}
