/**
 * The login facts the Post-Login Action sends (action/post-login.js): a narrow copy of Auth0's `event`
 * (research/auth0.md §4.2). The body arrives as `unknown` and is narrowed here; nothing else in
 * src/login/ sees the raw JSON.
 */

/** One identity of the Auth0 user logging in (`event.user.identities[]`). */
export interface LoginIdentity {
  readonly provider: string;
  readonly userId: string;
  readonly connection: string;
}

/** What Auth0 tells the Action about this login, as Provisio reads it. */
export interface LoginFacts {
  readonly userId: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly connection: { readonly id: string; readonly name: string; readonly strategy: string };
  /** Present only when the login is in an Organization context (research/auth0.md §4.2). */
  readonly organization: { readonly id: string; readonly name: string } | null;
  readonly identities: readonly LoginIdentity[];
  readonly loginsCount: number;
  readonly clientId: string | null;
}

/** A body that is not a login-facts document; the message names the field. */
export class LoginFactsError extends Error {
  override name = 'LoginFactsError';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function req(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '' || v.length > 512) throw new LoginFactsError(`${where}.${key} must be a non-empty string`);
  return v;
}

function opt(o: Obj, key: string, where: string): string | null {
  const v = o[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > 512) throw new LoginFactsError(`${where}.${key} must be a string`);
  return v;
}

/** Narrows the request body to `LoginFacts` or throws `LoginFactsError`. */
export function parseLoginFacts(body: unknown): LoginFacts {
  if (!isObj(body)) throw new LoginFactsError('body must be a JSON object');
  const user = body.user;
  if (!isObj(user)) throw new LoginFactsError('user must be an object');
  const connection = body.connection;
  if (!isObj(connection)) throw new LoginFactsError('connection must be an object');
  let organization: LoginFacts['organization'] = null;
  if (body.organization !== undefined && body.organization !== null) {
    if (!isObj(body.organization)) throw new LoginFactsError('organization must be an object');
    organization = { id: req(body.organization, 'id', 'organization'), name: req(body.organization, 'name', 'organization') };
  }
  const rawIdentities = user.identities ?? [];
  if (!Array.isArray(rawIdentities) || rawIdentities.length > 50) throw new LoginFactsError('user.identities must be a list');
  const identities = rawIdentities.map((i, n) => {
    if (!isObj(i)) throw new LoginFactsError(`user.identities[${n}] must be an object`);
    // Auth0 gives some providers numeric ids (research/auth0.md §4.2: "shape varies by provider").
    const id = typeof i.user_id === 'number' ? String(i.user_id) : i.user_id;
    return { provider: req(i, 'provider', `user.identities[${n}]`), userId: req({ user_id: id }, 'user_id', `user.identities[${n}]`), connection: req(i, 'connection', `user.identities[${n}]`) };
  });
  const count = body.loginsCount;
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) throw new LoginFactsError('loginsCount must be a non-negative integer');
  const email = opt(user, 'email', 'user');
  return {
    userId: req(user, 'user_id', 'user'),
    email: email === null ? null : email.toLowerCase(),
    emailVerified: user.email_verified === true,
    connection: { id: req(connection, 'id', 'connection'), name: req(connection, 'name', 'connection'), strategy: req(connection, 'strategy', 'connection') },
    organization,
    identities,
    loginsCount: typeof count === 'number' ? count : 0,
    clientId: opt(body, 'clientId', 'body'),
  };
}

/** The decision returned to the Action. `primaryUserId`: the Action calls `api.authentication.setPrimaryUser`. */
export interface LoginDecision {
  readonly decision: 'allow' | 'deny';
  /** User-presentable on deny (Auth0 shows it as `error_description`, research/auth0.md §4.3). */
  readonly reason?: string;
  readonly claims?: Record<string, unknown>;
  /** Mapped app_metadata while the sync has not written it yet (a synced user has it in Auth0 already). */
  readonly appMetadata?: Record<string, unknown>;
  readonly primaryUserId?: string;
}
