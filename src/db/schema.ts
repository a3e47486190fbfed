import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Kysely's view of the database. Migrations in `migrations/` are the truth; keep these in step. */
export interface Database {
  tenants: TenantTable;
  scim_tokens: ScimTokenTable;
  users: UserTable;
  groups: GroupTable;
  group_members: GroupMemberTable;
  tenant_sync_config: TenantSyncConfigTable;
  user_sync: UserSyncTable;
  sync_holds: SyncHoldTable;
  admin_tokens: AdminTokenTable;
  user_admin_overrides: UserAdminOverrideTable;
  admin_audit: AdminAuditTable;
  server_keys: ServerKeyTable;
  leases: LeaseTable;
  scim_requests: ScimRequestTable;
  user_history: UserHistoryTable;
  events: EventTable;
  event_sequences: EventSequenceTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  tenant_okta_bindings: TenantOktaBindingTable;
  okta_mirror: OktaMirrorTable;
}

/** A tenant's Okta binding (migration 0013), the document of src/okta/binding.ts with sealed credentials. */
export interface TenantOktaBindingTable {
  tenant_id: string;
  binding: Json<Record<string, unknown>>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type OktaMirrorStatus = 'pending' | 'mirrored' | 'deactivated' | 'deleted' | 'failed';

/** One directory user's mirror in Okta (migration 0013); outlives the user, as `user_sync` does. */
export interface OktaMirrorTable {
  tenant_id: string;
  user_id: string;
  okta_user_id: string | null;
  status: OktaMirrorStatus;
  applied: Json<Record<string, unknown>> | null;
  last_plan: Json<unknown[]> | null;
  last_error: string | null;
  attempts: Generated<number>;
  changed_at: Timestamp;
  mirrored_at: Date | null;
}

/** The outbox (migration 0012): one directory or Auth0 event, numbered per tenant by the sequencer. */
export interface EventTable {
  tenant_id: string;
  /** Identity in insert order (a string: PostgreSQL bigint); not commit order, see `seq`. */
  id: ColumnType<string, never, never>;
  /** The event's id as receivers see it (`webhook-id`). */
  event_id: ColumnType<string, never, never>;
  xid: ColumnType<string, never, never>;
  /** Per-tenant sequence in commit order; null until the sequencer numbered it. */
  seq: ColumnType<string | null, never, string | null>;
  type: string;
  at: ColumnType<Date, Date | string | undefined, never>;
  subject: string;
  data: Json<Record<string, unknown>>;
}

export interface EventSequenceTable {
  tenant_id: string;
  last_seq: string;
}

/** A webhook receiver (migration 0012). */
export interface WebhookEndpointTable {
  id: string;
  tenant_id: string | null;
  url: string;
  description: string | null;
  event_types: ColumnType<string[], string[] | undefined, string[]>;
  secrets: Json<StoredWebhookSecret[]>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  failing_since: Date | null;
  last_success_at: Date | null;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface StoredWebhookSecret {
  /** The `whsec_…` secret sealed by the server's SecretBox. */
  readonly sealed: string;
  readonly createdAt: string;
  /** A rotated-out secret signs beside the new one until then. */
  readonly expiresAt?: string;
}

/** One event owed to one endpoint (migration 0012). */
export interface WebhookDeliveryTable {
  endpoint_id: string;
  tenant_id: string;
  event_row: string;
  seq: string;
  subject: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: ColumnType<Date, never, never>;
  delivered_at: Date | null;
}

type Json<T> = ColumnType<T, string, string>;

/** Secrets the server generates for itself (migration 0007), shared by every replica through the database. */
export interface ServerKeyTable {
  name: string;
  /** 64 hex characters (256 bits). */
  secret: string;
  created_at: ColumnType<Date, never, never>;
}

/** One SCIM request of a tenant (migration 0009): the audit trail behind the console's live panel. */
export interface ScimRequestTable {
  /** Identity, monotonic per insert: the paging and polling cursor (a string: PostgreSQL bigint). */
  id: ColumnType<string, never, never>;
  tenant_id: string;
  /** When the response was sent. */
  at: ColumnType<Date, Date | string, Date | string>;
  /** The SCIM token used; null when authentication failed. No foreign key: tokens can be deleted. */
  token_id: string | null;
  source_ip: string | null;
  method: string | null;
  /** Path and query string, at most 512 characters. */
  path: string | null;
  status: number | null;
  latency_ms: number | null;
  dialect: string | null;
  /** `User`, `Group`, `Bulk`, `Schemas`… from the route. */
  resource_type: string | null;
  resource_id: string | null;
  scim_type: string | null;
  error_detail: string | null;
  /** A redacted summary of a write's body: attribute names and identifying values, never secrets. */
  summary: string | null;
  /** How many requests the row stands for: 1, or successful reads counted in one row (SCIM_AUDIT_READS_PER_SECOND). */
  requests: Generated<number>;
}

/** One sync job run or login decision of a user (migration 0011): the user timeline's history. */
export interface UserHistoryTable {
  tenant_id: string;
  /** Identity, monotonic per insert (a string: PostgreSQL bigint). */
  id: ColumnType<string, never, never>;
  /** When the run ended or the decision was answered. */
  at: ColumnType<Date, Date | string, Date | string>;
  user_id: string | null;
  auth0_user_id: string | null;
  kind: 'sync' | 'login';
  outcome: string;
  detail: string | null;
  duration_ms: number | null;
  attempt: number | null;
  facts: Json<Record<string, unknown> | null>;
  calls: Json<unknown[] | null>;
  calls_omitted: Generated<number>;
}

/** A role one process holds at a time (migration 0008), e.g. `sync`: the replica running the Auth0 sync. */
export interface LeaseTable {
  name: string;
  /** The holding process: host, pid and a random suffix. */
  holder: string;
  acquired_at: ColumnType<Date, string | undefined, string>;
  expires_at: ColumnType<Date, string, string>;
}

/** A tenant's Auth0 binding and role rules (shapes in src/sync/types.ts), validated before they are stored. */
export interface TenantSyncConfigTable {
  tenant_id: string;
  binding: Json<Record<string, unknown>>;
  rules: Json<Record<string, unknown>>;
  /** Mass-deprovision guard settings: `{ maxShare, windowMinutes, minUsers }`. */
  guard: ColumnType<Record<string, unknown>, string | undefined, string>;
  updated_at: Timestamp;
}

export type UserSyncStatus = 'pending' | 'synced' | 'awaiting-login' | 'held' | 'failed' | 'deleted' | 'unbound';

/** Applied state per directory user: what Provisio last confirmed in Auth0, and the last plan and error. */
export interface UserSyncTable {
  tenant_id: string;
  user_id: string;
  auth0_user_id: string | null;
  status: UserSyncStatus;
  applied: Json<Record<string, unknown>> | null;
  last_plan: Json<unknown[]> | null;
  last_error: string | null;
  attempts: Generated<number>;
  deleted_at: Date | null;
  tombstone: Json<Record<string, unknown>> | null;
  changed_at: Timestamp;
  synced_at: Date | null;
}

export interface SyncHoldTable {
  tenant_id: string;
  user_id: string;
  reason: string;
  held_at: Generated<Date>;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface TenantTable {
  id: string;
  /** URL slug: `/scim/v2/<name>`. */
  name: string;
  display_name: string;
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface ScimTokenTable {
  tenant_id: string;
  id: string;
  label: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: Buffer;
  /** First characters of the token, to recognise it in listings. */
  token_prefix: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  created_at: Generated<Date>;
  last_used_at: Date | null;
}

export interface UserTable {
  tenant_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  /** Lower-cased primary (or first) email, kept in a column for lookups by the Auth0 sync. */
  email: string | null;
  /** The SCIM resource as stored: canonical attribute names, no `id`/`meta`/`groups`. */
  data: ColumnType<Record<string, unknown>, string, string>;
  version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface GroupTable {
  tenant_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  /** The SCIM resource as stored, without `id`/`meta`/`members` (members live in `group_members`). */
  data: ColumnType<Record<string, unknown>, string, string>;
  version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export type MemberType = 'User' | 'Group';

export interface GroupMemberTable {
  tenant_id: string;
  group_id: string;
  member_id: string;
  member_type: MemberType;
  /** Generated from `member_id` by `member_type`: each carries a foreign key with ON DELETE CASCADE. */
  member_user_id: ColumnType<string | null, never, never>;
  member_group_id: ColumnType<string | null, never, never>;
}

export type TenantRow = Selectable<TenantTable>;
export type NewTenant = Insertable<TenantTable>;
export type TenantUpdate = Updateable<TenantTable>;
export type ScimTokenRow = Selectable<ScimTokenTable>;
export type UserRow = Selectable<UserTable>;
export type GroupRow = Selectable<GroupTable>;

/** An admin API token: `tenant_id` null is an operator token (every tenant), else a delegated org-admin token. */
export interface AdminTokenTable {
  id: string;
  tenant_id: string | null;
  label: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: Buffer;
  token_prefix: string;
  created_at: Generated<Date>;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** `token` (admin API token), `setup-link` (a customer setup link's secret) or `sign-in` (one-time console sign-in code); migration 0010. */
  kind: Generated<AdminCredentialKind>;
}

export type AdminCredentialKind = 'token' | 'setup-link' | 'sign-in';

/** What an admin decided about a directory user, on top of what the IdP says (src/admin/user-actions.ts). */
export interface UserAdminOverrideTable {
  tenant_id: string;
  user_id: string;
  blocked: Generated<boolean>;
  removed_from_org: Generated<boolean>;
  /** GDPR erasure requested: the Auth0 user is deleted whatever the deprovision policy says. */
  erase: Generated<boolean>;
  actor: string;
  reason: string | null;
  updated_at: Timestamp;
}

export interface AdminAuditTable {
  tenant_id: string;
  id: string;
  at: Generated<Date>;
  /** Who: `token:<id>` or `jwt:<sub>`. */
  actor: string;
  action: string;
  target: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export type AdminTokenRow = Selectable<AdminTokenTable>;
export type UserAdminOverrideRow = Selectable<UserAdminOverrideTable>;
