/**
 * The emulator's in-memory entities. They are plain JSON-serialisable records so the whole state can be
 * read and restored through the inspection API; response bodies are built from them by the route modules.
 */

/** Strategies the emulator knows; `auth0` is a database connection, the rest are enterprise. */
export type ConnectionStrategy = 'auth0' | 'samlp' | 'oidc' | 'okta' | 'waad' | 'adfs' | 'pingfederate';

export interface EmuConnection {
  id: string;
  name: string;
  display_name: string;
  strategy: ConnectionStrategy;
  /** Client ids this connection is enabled for (POST /users requires the caller's client). */
  enabled_clients: string[];
  realms: string[];
  is_domain_connection: boolean;
  metadata: Record<string, string>;
  options: Record<string, unknown>;
}

export interface EmuIdentity {
  connection: string;
  user_id: string;
  provider: string;
  isSocial: boolean;
  profileData?: Record<string, unknown>;
}

export interface EmuUser {
  user_id: string;
  email?: string;
  email_verified: boolean;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  name: string;
  nickname: string;
  given_name?: string;
  family_name?: string;
  picture: string;
  created_at: string;
  updated_at: string;
  identities: EmuIdentity[];
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  blocked?: boolean;
  last_login?: string;
  logins_count: number;
  /** Tenant role ids (`/users/{id}/roles`). */
  roles: string[];
  /** Active session ids; revocation empties it. Tests add sessions through `emulator.addSession`. */
  sessions: string[];
  /** Active refresh token ids. */
  refresh_tokens: string[];
  /** scrypt hash of a database user's password (`salt:hash`, base64url); never in an API answer. */
  password_hash?: string;
}

export interface EmuEnabledConnection {
  connection_id: string;
  assign_membership_on_login: boolean;
  show_as_button: boolean;
  is_signup_enabled: boolean;
}

export interface EmuMembership {
  user_id: string;
  roles: string[];
  /** ms epoch; with a consistency delay the member shows in lists only after `added_at + delay`. */
  added_at: number;
}

export interface EmuOrganization {
  id: string;
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, string>;
  created_at: string;
  enabled_connections: EmuEnabledConnection[];
  members: EmuMembership[];
  /** Recently removed members with removal time: still listed until `removed_at + delay`. */
  removed_members: { member: EmuMembership; removed_at: number }[];
}

export interface EmuRole {
  id: string;
  name: string;
  description: string;
  /** API permissions (`/roles/{id}/permissions`); absent in snapshots taken before the emulator had them. */
  permissions?: EmuPermission[];
}

export interface EmuPermission {
  resource_server_identifier: string;
  permission_name: string;
}

/** An API (`/resource-servers`): the audience of access tokens issued to users. */
export interface EmuResourceServer {
  id: string;
  name: string;
  identifier: string;
  scopes: { value: string; description?: string }[];
  signing_alg: 'RS256';
  /** Seconds (docs: 86,400 by default). */
  token_lifetime: number;
  /** `access_token_authz` adds the user's RBAC `permissions` claim to its access tokens. */
  token_dialect: 'access_token' | 'access_token_authz';
  enforce_policies: boolean;
  allow_offline_access: boolean;
  skip_consent_for_verifiable_first_party_clients: boolean;
}

export interface EmuInvitation {
  id: string;
  organization_id: string;
  inviter: { name: string };
  invitee: { email: string };
  client_id: string;
  connection_id?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  roles: string[];
  created_at: string;
  expires_at: string;
  ticket_id: string;
  invitation_url: string;
  send_invitation_email: boolean;
}

export interface EmuTicket {
  id: string;
  user_id: string;
  ticket: string;
  created_at: string;
  expires_at: string;
  organization_id?: string;
  client_id?: string;
}

export interface EmuClient {
  client_id: string;
  client_secret: string;
  name: string;
  /** Scopes granted for the Management API audience (a client grant). Empty = no grant. */
  scopes: string[];
  /** `spa` clients log users in through `/authorize` (public: no secret at the token endpoint, PKCE required). */
  app_type?: 'non_interactive' | 'spa' | 'regular_web';
  /** Allowed Callback URLs: `/authorize` redirects only to one of these, compared exactly. */
  callbacks?: string[];
  /** Allowed Web Origins: browsers on these origins may call the token endpoint (CORS). */
  web_origins?: string[];
}

export interface EmuAccessToken {
  client_id: string;
  scopes: string[];
  expires_at: number;
}

export interface EmuScimToken {
  token_id: string;
  token: string;
  scopes: string[];
  created_at: string;
  valid_until?: string;
}

export interface EmuScimConfiguration {
  connection_id: string;
  user_id_attribute: string;
  mapping: { auth0: string; scim: string }[];
  created_at: string;
  updated_on: string;
  tokens: EmuScimToken[];
}

/** An Action secret; the API returns its name and `updated_at`, never its value (spec ActionSecretResponse). */
export interface EmuActionSecret {
  name: string;
  value: string;
  updated_at: string;
}

/** One npm dependency of an Action (spec ActionVersionDependency). */
export interface EmuActionDependency {
  name: string;
  version?: string;
  registry_url?: string;
}

/** An immutable deployed version of an Action (`POST /actions/actions/{id}/deploy`). */
export interface EmuActionVersion {
  id: string;
  number: number;
  code: string;
  runtime: string;
  dependencies: EmuActionDependency[];
  /** Names and times only: values stay with the Action. */
  secrets: { name: string; updated_at: string }[];
  supported_triggers: { id: string; version?: string }[];
  created_at: string;
}

export interface EmuAction {
  id: string;
  name: string;
  supported_triggers: { id: string; version?: string }[];
  code: string;
  runtime: string;
  dependencies: EmuActionDependency[];
  secrets: EmuActionSecret[];
  created_at: string;
  updated_at: string;
  /** ms epoch at which the current draft has been built (deploy refuses before: "must be in the 'built' state"). */
  built_at: number;
  /** False after a create or PATCH, true after a deploy. */
  all_changes_deployed: boolean;
  versions: EmuActionVersion[];
  deployed_version_id?: string;
}

/** One entry of a trigger's flow; the order of `trigger_bindings` is the execution order per trigger. */
export interface EmuTriggerBinding {
  id: string;
  trigger_id: string;
  action_id: string;
  display_name: string;
  created_at: string;
  updated_at: string;
}

/** The whole tenant state, as read and restored by the inspection API. */
export interface EmulatorStateData {
  domain: string;
  clients: EmuClient[];
  tokens: Record<string, EmuAccessToken>;
  connections: EmuConnection[];
  users: EmuUser[];
  organizations: EmuOrganization[];
  roles: EmuRole[];
  invitations: EmuInvitation[];
  tickets: EmuTicket[];
  scim_configurations: EmuScimConfiguration[];
  /** Absent in snapshots taken before the emulator served Actions. */
  actions?: EmuAction[];
  trigger_bindings?: EmuTriggerBinding[];
  /** Absent in snapshots taken before the emulator served `/resource-servers`. */
  resource_servers?: EmuResourceServer[];
}
