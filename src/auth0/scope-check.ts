/**
 * Checks an M2M application against what Provisio calls: a client-credentials token, then, for every
 * Management API scope Provisio needs (docs/auth0-setup.md "Scopes", from src/auth0/gateway.ts and
 * src/auth0/action-deploy.ts), one request to the very operation that needs it, built so it changes
 * nothing: a read, a read of an id that does not exist, or a write whose body or id Auth0 rejects.
 * Auth0 checks the token's scopes before it validates the request or looks the id up (as the emulator
 * does), so its answer says it: 403 `insufficient_scope` is "missing", a 2xx, 400, 404 or 409 is
 * "granted". The token's `scope` claim is shown too when the token is a JWT, never used as the answer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as sdk from 'auth0';
import { createManagementAuth, ManagementClient, ManagementError } from 'auth0';
import { POST_LOGIN_ACTION_NAME } from './action-deploy.js';
import { rewritingFetch } from './client.js';
import { Auth0RetryableError, classifyAuth0Error, redact, type Auth0Error } from './errors.js';
import type { Auth0Bucket, RateBudget } from './rate-budget.js';
import { noteAuth0SdkLoaded } from './sdk.js';

noteAuth0SdkLoaded(sdk);

/** Whose scopes to check. */
export interface ScopeCheckTarget {
  domain: string;
  clientId: string;
  clientSecret: string;
  /** The emulator or a proxy: where `https://<domain>` requests go. */
  baseUrl?: string;
}

export interface ScopeCheckOptions {
  /** The tenant's rate budget (the process's gateway budget when checking the configured tenant). */
  budget?: RateBudget;
  /** Per request, the token request included (default 10 s). */
  timeoutMs?: number;
  /** Check the Actions scopes that `provisio action deploy` needs (default true). */
  actions?: boolean;
}

export type ScopeStatus = 'granted' | 'missing' | 'error';

/** The answer for one scope. */
export interface ScopeProbeResult {
  scope: string;
  status: ScopeStatus;
  /** The operation asked (`GET /users-by-email`). */
  operation: string;
  /** Auth0's HTTP status, absent on a timeout or network failure. */
  httpStatus?: number;
  /** Auth0's message for `missing` and `error`. */
  message?: string;
}

export interface ScopeFamilyResult {
  family: string;
  label: string;
  /** What Provisio does with these scopes (so an operator can decide to leave a feature's out). */
  neededFor: string;
  status: 'ok' | 'missing' | 'error';
  missing: string[];
  scopes: ScopeProbeResult[];
}

export interface ScopeCheckResult {
  /** `unauthorized`: no token (wrong credentials, no grant for the Management API); `error`: Auth0 unreachable or failing. */
  status: 'ok' | 'missing' | 'unauthorized' | 'error';
  message: string;
  domain: string;
  clientId: string;
  /** The `scope` claim of the token when it is a JWT (Auth0's are); null otherwise. Shown, not trusted. */
  tokenScopes: string[] | null;
  families: ScopeFamilyResult[];
}

interface Raw {
  rawResponse: { status: number; headers: Headers };
}

type RequestOptions = { maxRetries: 0; timeoutInSeconds: number };

interface Probe {
  scope: string;
  operation: string;
  bucket: Auth0Bucket;
  run(client: ManagementClient, o: RequestOptions): Promise<Raw>;
}

interface Family {
  family: string;
  label: string;
  neededFor: string;
  probes: Probe[];
}

// Ids that exist nowhere, in the shapes the spec's formats ask for; bodies that no schema accepts.
const NO_USER = 'auth0|provisio-scope-check';
const NO_ORG = 'org_ProvisioScopeChk';
const NO_CONNECTION = 'con_ProvisioScopeChk';
const NO_INVITATION = 'uinv_ProvisioScopeChk';
const NO_ACTION = '00000000-0000-4000-8000-000000000000';
const INVALID = {} as never;

const page = async (p: Promise<{ rawResponse: Raw['rawResponse'] }>): Promise<Raw> => ({ rawResponse: (await p).rawResponse });

/** Every scope Provisio needs, grouped by what it is for (docs/auth0-setup.md "Scopes"). */
const FAMILIES: readonly Family[] = [
  {
    family: 'users', label: 'Users', neededFor: 'every sync: reading, creating (database mode), blocking, profile and app_metadata, tenant roles, identity linking; delete:users only for deprovision "delete"',
    probes: [
      { scope: 'read:users', operation: 'GET /users-by-email', bucket: 'read_users', run: (c, o) => c.users.listUsersByEmail({ email: 'scope-check@provisio.invalid' }, o).withRawResponse() },
      { scope: 'create:users', operation: 'POST /users', bucket: 'write_users', run: (c, o) => c.users.create(INVALID, o).withRawResponse() },
      { scope: 'update:users', operation: 'PATCH /users/{id}', bucket: 'write_users', run: (c, o) => c.users.update(NO_USER, { blocked: 'scope-check' } as never, o).withRawResponse() },
      { scope: 'delete:users', operation: 'DELETE /users/{id}', bucket: 'write_users', run: (c, o) => c.users.delete(NO_USER, o).withRawResponse() },
    ],
  },
  {
    family: 'sessions', label: 'Sessions and refresh tokens', neededFor: 'revoking a deactivated or deleted user\'s sessions and refresh tokens',
    probes: [
      { scope: 'delete:sessions', operation: 'DELETE /users/{user_id}/sessions', bucket: 'other', run: (c, o) => c.users.sessions.delete(NO_USER, o).withRawResponse() },
      { scope: 'delete:refresh_tokens', operation: 'DELETE /users/{user_id}/refresh-tokens', bucket: 'other', run: (c, o) => c.users.refreshToken.delete(NO_USER, o).withRawResponse() },
    ],
  },
  {
    family: 'organizations', label: 'Organizations and their connections', neededFor: 'every sync: finding or creating the binding\'s organization and enabling its connections',
    probes: [
      { scope: 'read:organizations', operation: 'GET /organizations/name/{name}', bucket: 'read_org_by_name', run: (c, o) => c.organizations.getByName('provisio-scope-check', o).withRawResponse() },
      { scope: 'create:organizations', operation: 'POST /organizations', bucket: 'write_orgs', run: (c, o) => c.organizations.create(INVALID, o).withRawResponse() },
      { scope: 'read:organization_connections', operation: 'GET /organizations/{id}/enabled_connections/{connectionId}', bucket: 'read_org_connections', run: (c, o) => c.organizations.enabledConnections.get(NO_ORG, NO_CONNECTION, o).withRawResponse() },
      { scope: 'create:organization_connections', operation: 'POST /organizations/{id}/enabled_connections', bucket: 'write_org_connections', run: (c, o) => c.organizations.enabledConnections.add(NO_ORG, INVALID, o).withRawResponse() },
      { scope: 'update:organization_connections', operation: 'PATCH /organizations/{id}/enabled_connections/{connectionId}', bucket: 'write_org_connections', run: (c, o) => c.organizations.enabledConnections.update(NO_ORG, NO_CONNECTION, { assign_membership_on_login: 'scope-check' } as never, o).withRawResponse() },
    ],
  },
  {
    family: 'organization_members', label: 'Organization members and their roles', neededFor: 'membership and org roles from rules',
    probes: [
      { scope: 'create:organization_members', operation: 'POST /organizations/{id}/members', bucket: 'write_org_members', run: (c, o) => c.organizations.members.create(NO_ORG, INVALID, o).withRawResponse() },
      { scope: 'delete:organization_members', operation: 'DELETE /organizations/{id}/members', bucket: 'write_org_members', run: (c, o) => c.organizations.members.delete(NO_ORG, INVALID, o).withRawResponse() },
      { scope: 'read:organization_member_roles', operation: 'GET /organizations/{id}/members/{user_id}/roles', bucket: 'read_org_member_roles', run: (c, o) => page(c.organizations.members.roles.list(NO_ORG, NO_USER, { per_page: 1 }, o)) },
      { scope: 'create:organization_member_roles', operation: 'POST /organizations/{id}/members/{user_id}/roles', bucket: 'write_org_member_roles', run: (c, o) => c.organizations.members.roles.assign(NO_ORG, NO_USER, INVALID, o).withRawResponse() },
      { scope: 'delete:organization_member_roles', operation: 'DELETE /organizations/{id}/members/{user_id}/roles', bucket: 'write_org_member_roles', run: (c, o) => c.organizations.members.roles.delete(NO_ORG, NO_USER, INVALID, o).withRawResponse() },
    ],
  },
  {
    family: 'roles', label: 'Roles', neededFor: 'resolving the role names rules use',
    probes: [
      { scope: 'read:roles', operation: 'GET /roles', bucket: 'other', run: (c, o) => page(c.roles.list({ name_filter: 'provisio-scope-check', per_page: 1 }, o)) },
    ],
  },
  {
    family: 'onboarding', label: 'Password tickets and invitations', neededFor: 'onboarding "password-ticket" and "invitation"; the invitation list and withdrawal of the admin API',
    probes: [
      { scope: 'create:user_tickets', operation: 'POST /tickets/password-change', bucket: 'other', run: (c, o) => c.tickets.changePassword(INVALID, o).withRawResponse() },
      { scope: 'create:organization_invitations', operation: 'POST /organizations/{id}/invitations', bucket: 'org_invitations', run: (c, o) => c.organizations.invitations.create(NO_ORG, INVALID, o).withRawResponse() },
      { scope: 'read:organization_invitations', operation: 'GET /organizations/{id}/invitations', bucket: 'org_invitations', run: (c, o) => page(c.organizations.invitations.list(NO_ORG, { per_page: 1 }, o)) },
      { scope: 'delete:organization_invitations', operation: 'DELETE /organizations/{id}/invitations/{invitation_id}', bucket: 'org_invitations', run: (c, o) => c.organizations.invitations.delete(NO_ORG, NO_INVITATION, o).withRawResponse() },
    ],
  },
];

const ACTIONS_FAMILY: Family = {
  family: 'actions', label: 'Actions', neededFor: 'provisio action deploy and the console\'s deploy button (not the sync)',
  probes: [
    { scope: 'read:actions', operation: 'GET /actions/actions', bucket: 'other', run: (c, o) => page(c.actions.list({ actionName: POST_LOGIN_ACTION_NAME, per_page: 1 }, o)) },
    { scope: 'create:actions', operation: 'POST /actions/actions', bucket: 'other', run: (c, o) => c.actions.create(INVALID, o).withRawResponse() },
    { scope: 'update:actions', operation: 'PATCH /actions/actions/{id}', bucket: 'other', run: (c, o) => c.actions.update(NO_ACTION, { name: 0 } as never, o).withRawResponse() },
  ],
};

/** Every scope the check asks about, in order (docs and tests list them from here). */
export function checkedScopes(actions = true): string[] {
  return [...FAMILIES, ...(actions ? [ACTIONS_FAMILY] : [])].flatMap((f) => f.probes.map((p) => p.scope));
}

/** Adds a per-request timeout to every request, the token request included. */
function timedFetch(base: typeof fetch, ms: number): typeof fetch {
  return (input, init) => {
    const signals = [AbortSignal.timeout(ms), ...(init?.signal ? [init.signal] : [])];
    return base(input, { ...init, signal: AbortSignal.any(signals) });
  };
}

/** The `scope` claim of a JWT access token, or null for an opaque one. */
function scopeClaim(token: string): string[] | null {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const scope = typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>)['scope'] : undefined;
    return typeof scope === 'string' ? scope.split(/\s+/).filter(Boolean) : null;
  } catch {
    return null;
  }
}

function bodyField(body: unknown, name: string): string | undefined {
  const v: unknown = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Checks `target`'s scopes against every call Provisio makes; never throws for an Auth0 answer. */
export async function checkAuth0Scopes(target: ScopeCheckTarget, options: ScopeCheckOptions = {}): Promise<ScopeCheckResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const secrets = [target.clientSecret];
  const base = { domain: target.domain, clientId: target.clientId };
  const where = target.baseUrl ? `${target.baseUrl} (as ${target.domain})` : `https://${target.domain}`;
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(target.domain)) {
    return { ...base, status: 'error', message: `the domain must be a bare host name such as acme.eu.auth0.com, got "${target.domain}"`, tokenScopes: null, families: [] };
  }
  const fetchFn = timedFetch(target.baseUrl ? rewritingFetch(target.domain, target.baseUrl) : (input, init) => fetch(input, init), timeoutMs);

  let token: string;
  try {
    token = await createManagementAuth({ domain: target.domain, clientId: target.clientId, clientSecret: target.clientSecret, fetch: fetchFn }).getToken();
  } catch (err) {
    if (err instanceof ManagementError && (err.statusCode === 401 || err.statusCode === 403)) {
      const reason = redact(bodyField(err.body, 'error_description') ?? bodyField(err.body, 'error') ?? err.message, secrets);
      return { ...base, status: 'unauthorized', message: `Auth0 refused a token for these credentials (${err.statusCode}: ${reason}): check the client id and secret, and that the application is authorised for the Auth0 Management API`, tokenScopes: null, families: [] };
    }
    const classified = classifyAuth0Error(err, { operation: 'POST /oauth/token', now: Date.now(), secrets });
    const timedOut = (err instanceof ManagementError && err.statusCode === 408) || ('reason' in classified && classified.reason === 'timeout');
    const message = timedOut ? `no answer from ${where} within ${timeoutMs} ms` : `cannot get a token from ${where}: ${classified.message}`;
    return { ...base, status: 'error', message, tokenScopes: null, families: [] };
  }

  const client = new ManagementClient({ domain: target.domain, token, fetch: fetchFn, maxRetries: 0, timeoutInSeconds: Math.ceil(timeoutMs / 1000) });
  const request: RequestOptions = { maxRetries: 0, timeoutInSeconds: Math.ceil(timeoutMs / 1000) };
  const families: ScopeFamilyResult[] = [];
  for (const family of [...FAMILIES, ...(options.actions === false ? [] : [ACTIONS_FAMILY])]) {
    const scopes: ScopeProbeResult[] = [];
    for (const probe of family.probes) scopes.push(await runProbe(client, request, probe, options.budget, secrets));
    const missing = scopes.filter((s) => s.status === 'missing').map((s) => s.scope);
    const status = missing.length ? 'missing' : scopes.some((s) => s.status === 'error') ? 'error' : 'ok';
    families.push({ family: family.family, label: family.label, neededFor: family.neededFor, status, missing, scopes });
  }
  const missing = families.flatMap((f) => f.missing);
  const errors = families.flatMap((f) => f.scopes.filter((s) => s.status === 'error'));
  const status = missing.length ? 'missing' : errors.length ? 'error' : 'ok';
  const message = status === 'ok' ? `every scope Provisio needs is granted (${families.reduce((n, f) => n + f.scopes.length, 0)} checked)`
    : status === 'missing' ? `missing scope${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`
      : `could not check ${errors.map((e) => e.scope).join(', ')}: ${errors[0]?.message ?? ''}`;
  return { ...base, status, message, tokenScopes: scopeClaim(token), families };
}

/** Attempts per probe when Auth0 answers 429 (the budget, or the answer's reset time, paces the next one). */
const RATE_LIMITED_ATTEMPTS = 3;

/** One probe: budget → SDK call → Auth0's answer read as granted / missing / error. */
async function runProbe(client: ManagementClient, request: RequestOptions, probe: Probe, budget: RateBudget | undefined, secrets: readonly string[]): Promise<ScopeProbeResult> {
  const { scope, operation } = probe;
  for (let attempt = 1; ; attempt++) {
    await budget?.acquire(probe.bucket, 'scope-check');
    try {
      const { rawResponse } = await probe.run(client, request);
      budget?.observe(probe.bucket, rawResponse.headers, rawResponse.status);
      return { scope, operation, status: 'granted', httpStatus: rawResponse.status };
    } catch (err) {
      const headers = (err as { rawResponse?: { headers?: unknown } }).rawResponse?.headers;
      const classified = classifyAuth0Error(err, { operation, now: Date.now(), secrets });
      if (headers instanceof Headers && classified.status !== undefined) budget?.observe(probe.bucket, headers, classified.status);
      if (classified instanceof Auth0RetryableError && classified.reason === 'rate_limited' && attempt < RATE_LIMITED_ATTEMPTS) {
        if (!budget) await delay(Math.min(10_000, Math.max(0, classified.retryAt - Date.now())));
        continue;
      }
      return probeAnswer(probe, classified);
    }
  }
}

/** Auth0's refusal of a probe, read. */
function probeAnswer(probe: Probe, classified: Auth0Error): ScopeProbeResult {
  const { scope, operation } = probe;
  const status = classified.status;
  const errorCode = 'errorCode' in classified ? classified.errorCode : undefined;
  // The request got past the scope check and was refused for what it asked: the scope is there.
  if (status === 400 || status === 404 || status === 409) return { scope, operation, status: 'granted', httpStatus: status };
  if (status === 403 && errorCode === 'insufficient_scope') return { scope, operation, status: 'missing', httpStatus: 403, message: classified.message };
  return { scope, operation, status: 'error', ...(status !== undefined ? { httpStatus: status } : {}), message: classified.message };
}
