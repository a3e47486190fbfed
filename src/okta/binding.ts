/**
 * A tenant's Okta binding (issue 18, docs/okta-mirror.md): the Okta org every user this tenant provisions
 * into Auth0 is mirrored into, how Provisio signs in there, the profile mapping, the group rules and what a
 * directory deletion does. Validated here; secrets are sealed before they are stored.
 */
import { createPrivateKey } from 'node:crypto';
import { readScimPath } from '../sync/attribute-mapping.js';
import { obj, oneOf, str, SyncConfigError } from '../sync/config.js';

/** `api-token`: an Okta API token (`SSWS`). `private-key`: OAuth 2.0 client credentials with a private key JWT (what Okta recommends for service apps). */
export type OktaAuth =
  | { readonly method: 'api-token'; readonly sealedToken: string }
  | { readonly method: 'private-key'; readonly clientId: string; readonly keyId?: string; readonly sealedPrivateKey: string; readonly scopes: readonly string[] };

/** A directory attribute path (the Auth0 mapping's language: `name.givenName`, `emails[type eq "work"].value`) → an Okta profile attribute. */
export interface OktaProfileMapping {
  readonly scim: string;
  readonly okta: string;
}

/** Directory group (by id, externalId or displayName, as the Auth0 role rules) → Okta group (by id, or by name, created if missing). */
export interface OktaGroupRule {
  readonly id: string;
  readonly match: { readonly by: 'id' | 'externalId' | 'displayName'; readonly value: string };
  readonly oktaGroup: { readonly id: string } | { readonly name: string; readonly description?: string };
}

export interface OktaBinding {
  /** `https://<org>.okta.com`; absent outside production: the built-in Okta emulator of the zero-config start. */
  readonly orgUrl?: string;
  /** Absent only with the emulator (it hands out its own token). */
  readonly auth?: OktaAuth;
  readonly profileMapping: readonly OktaProfileMapping[];
  readonly groupRules: readonly OktaGroupRule[];
  /** A directory deletion: `deactivate` the Okta user (default), or deactivate then `delete` it. */
  readonly onDelete: 'deactivate' | 'delete';
  /**
   * New Okta users: `federated` (default) — active at once, no password, no email (they sign in through
   * Auth0); `activation-email` — Okta emails them to set a password; `staged` — created, not activated.
   */
  readonly activation: 'federated' | 'activation-email' | 'staged';
  /** The Okta profile attribute that holds the Auth0 user id (a custom attribute: add it in Okta's Profile Editor). */
  readonly auth0IdAttribute: string;
}

/** Later entries for one attribute are fallbacks (the first present value wins, as in the Auth0 mapping), so a directory without a given/family name still gives Okta the names it requires. */
export const DEFAULT_OKTA_PROFILE_MAPPING: readonly OktaProfileMapping[] = [
  { scim: 'userName', okta: 'login' },
  { scim: 'emails.value', okta: 'email' },
  { scim: 'userName', okta: 'email' },
  { scim: 'name.givenName', okta: 'firstName' },
  { scim: 'displayName', okta: 'firstName' },
  { scim: 'userName', okta: 'firstName' },
  { scim: 'name.familyName', okta: 'lastName' },
  { scim: 'displayName', okta: 'lastName' },
  { scim: 'userName', okta: 'lastName' },
];

export const DEFAULT_AUTH0_ID_ATTRIBUTE = 'auth0UserId';
export const OKTA_SCOPES = ['okta.users.manage', 'okta.groups.manage'] as const;

/** Okta profile attribute names: letters, digits and `_`, starting with a letter (Okta's variable names). */
const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

/** An Okta org URL: https, a host, nothing after it. Plain http only for loopback (the emulator, tests). */
function parseOrgUrl(value: unknown): string {
  const text = str(value, 'okta.orgUrl').trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SyncConfigError('okta.orgUrl must be a URL such as https://acme.okta.com');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new SyncConfigError('okta.orgUrl must use https (http only for a local emulator)');
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw new SyncConfigError('okta.orgUrl is the org only, such as https://acme.okta.com (no path, query or credentials)');
  return url.origin;
}

/** A private key the SDK can sign with: a PEM or a private JWK (RSA or EC), refused now rather than at every job. */
function checkPrivateKey(text: string): void {
  const bad = () => new SyncConfigError('okta.auth.privateKey must be the service app\'s private key: a PEM or a private JWK (RSA or EC)');
  try {
    const key = text.trim().startsWith('{') ? createPrivateKey({ key: JSON.parse(text) as import('node:crypto').JsonWebKey, format: 'jwk' }) : createPrivateKey(text);
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw bad();
  } catch {
    throw bad();
  }
}

function parseAuth(value: unknown, acceptSealed: boolean): OktaAuth {
  const a = obj(value, 'okta.auth');
  const method = oneOf(a.method, ['api-token', 'private-key'] as const, 'api-token', 'okta.auth.method');
  if (method === 'api-token') {
    // A plain `token` (from a binding file or the admin API) is sealed by `sealOktaSecrets` before it is stored.
    const sealedToken = acceptSealed && typeof a.sealedToken === 'string' ? a.sealedToken : `plain:${str(a.token, 'okta.auth.token')}`;
    return { method, sealedToken };
  }
  const clientId = str(a.clientId, 'okta.auth.clientId');
  let sealedPrivateKey: string;
  if (acceptSealed && typeof a.sealedPrivateKey === 'string') sealedPrivateKey = a.sealedPrivateKey;
  else {
    const key = a.privateKey;
    // A JWK object or a PEM / JWK string, as the Okta SDK takes it.
    const text = typeof key === 'object' && key !== null ? JSON.stringify(key) : str(key, 'okta.auth.privateKey');
    checkPrivateKey(text);
    sealedPrivateKey = `plain:${text}`;
  }
  const scopesInput = a.scopes ?? [...OKTA_SCOPES];
  if (!Array.isArray(scopesInput) || scopesInput.length === 0 || scopesInput.some((s) => typeof s !== 'string' || !/^okta\.[a-zA-Z.]+$/.test(s))) throw new SyncConfigError('okta.auth.scopes must be a list of Okta scopes such as okta.users.manage');
  return {
    method,
    clientId,
    ...(a.keyId !== undefined && a.keyId !== null ? { keyId: str(a.keyId, 'okta.auth.keyId') } : {}),
    sealedPrivateKey,
    scopes: scopesInput as string[],
  };
}

function parseMapping(value: unknown): OktaProfileMapping[] {
  if (value === undefined || value === null) return [...DEFAULT_OKTA_PROFILE_MAPPING];
  if (!Array.isArray(value)) throw new SyncConfigError('okta.profileMapping must be a list of {scim, okta}');
  const mapping = value.map((m, i) => {
    const entry = obj(m, `okta.profileMapping[${i}]`);
    const okta = str(entry.okta, `okta.profileMapping[${i}].okta`);
    if (!ATTRIBUTE.test(okta)) throw new SyncConfigError(`okta.profileMapping[${i}].okta: "${okta}" is not an Okta profile attribute name`);
    const scim = str(entry.scim, `okta.profileMapping[${i}].scim`);
    try {
      // A path naming no attribute of a known schema would silently map nothing: refuse it now.
      readScimPath({}, scim);
    } catch (err) {
      throw new SyncConfigError(`okta.profileMapping[${i}].scim: ${(err as Error).message}`);
    }
    return { scim, okta };
  });
  // Okta's base profile requires all four: a binding without one would fail every user.
  for (const required of ['login', 'email', 'firstName', 'lastName']) {
    if (!mapping.some((m) => m.okta === required)) throw new SyncConfigError(`okta.profileMapping must map Okta's required "${required}"`);
  }
  return mapping;
}

function parseGroupRules(value: unknown): OktaGroupRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SyncConfigError('okta.groupRules must be a list');
  const ids = new Set<string>();
  return value.map((item, i) => {
    const where = `okta.groupRules[${i}]`;
    const rule = obj(item, where);
    const match = obj(rule.match, `${where}.match`);
    const target = obj(rule.oktaGroup, `${where}.oktaGroup`);
    const id = rule.id === undefined ? `okta-rule-${i + 1}` : str(rule.id, `${where}.id`);
    if (ids.has(id)) throw new SyncConfigError(`okta.groupRules: two rules have the id "${id}"`);
    ids.add(id);
    let oktaGroup: OktaGroupRule['oktaGroup'];
    if (target.id !== undefined) oktaGroup = { id: str(target.id, `${where}.oktaGroup.id`) };
    else {
      const name = str(target.name, `${where}.oktaGroup.name (or .id)`);
      if (name.length > 255) throw new SyncConfigError(`${where}.oktaGroup.name is longer than Okta's 255 characters`);
      oktaGroup = { name, ...(typeof target.description === 'string' ? { description: target.description } : {}) };
    }
    return {
      id,
      match: { by: oneOf(match.by, ['externalId', 'id', 'displayName'] as const, 'displayName', `${where}.match.by`), value: str(match.value, `${where}.match.value`) },
      oktaGroup,
    };
  });
}

/**
 * Validates an Okta binding document, as given to the CLI and admin API (plain credentials), or as stored
 * (`acceptSealed`: credentials sealed by `sealOktaSecrets`).
 */
export function parseOktaBinding(input: unknown, options: { production?: boolean; acceptSealed?: boolean } = {}): OktaBinding {
  const b = obj(input, 'okta');
  const orgUrl = b.orgUrl === undefined || b.orgUrl === null ? undefined : parseOrgUrl(b.orgUrl);
  if (!orgUrl && options.production) throw new SyncConfigError('okta.orgUrl is required in production (without it the built-in Okta emulator is used)');
  const auth = b.auth === undefined || b.auth === null ? undefined : parseAuth(b.auth, options.acceptSealed ?? false);
  if (orgUrl && !auth) throw new SyncConfigError('okta.auth is required with okta.orgUrl: {method: "api-token", token} or {method: "private-key", clientId, privateKey, keyId?}');
  const auth0IdAttribute = b.auth0IdAttribute === undefined || b.auth0IdAttribute === null ? DEFAULT_AUTH0_ID_ATTRIBUTE : str(b.auth0IdAttribute, 'okta.auth0IdAttribute');
  if (!ATTRIBUTE.test(auth0IdAttribute)) throw new SyncConfigError(`okta.auth0IdAttribute: "${auth0IdAttribute}" is not an Okta profile attribute name`);
  const profileMapping = parseMapping(b.profileMapping);
  if (profileMapping.some((m) => m.okta === auth0IdAttribute)) throw new SyncConfigError(`okta.profileMapping cannot map "${auth0IdAttribute}": it holds the Auth0 user id`);
  return {
    ...(orgUrl ? { orgUrl } : {}),
    ...(auth ? { auth } : {}),
    profileMapping,
    groupRules: parseGroupRules(b.groupRules),
    onDelete: oneOf(b.onDelete, ['deactivate', 'delete'] as const, 'deactivate', 'okta.onDelete'),
    activation: oneOf(b.activation, ['federated', 'activation-email', 'staged'] as const, 'federated', 'okta.activation'),
    auth0IdAttribute,
  };
}

/** Seals a plain API token or private key (done before storing); without a key box, storing one is refused. */
export function sealOktaSecrets(binding: OktaBinding, seal: ((plain: string) => string) | undefined): OktaBinding {
  const auth = binding.auth;
  if (!auth) return binding;
  const plain = auth.method === 'api-token' ? auth.sealedToken : auth.sealedPrivateKey;
  if (!plain.startsWith('plain:')) return binding;
  if (!seal) throw new SyncConfigError('storing Okta credentials needs PROVISIO_ENCRYPTION_KEY (32 bytes, base64)');
  const sealed = seal(plain.slice('plain:'.length));
  return { ...binding, auth: auth.method === 'api-token' ? { ...auth, sealedToken: sealed } : { ...auth, sealedPrivateKey: sealed } };
}

/** The binding as the CLI and admin API show it: secrets never leave, only whether they are set. */
export function describeOktaBinding(binding: OktaBinding): Record<string, unknown> {
  const { auth, ...rest } = binding;
  return {
    orgUrl: binding.orgUrl ?? null,
    target: binding.orgUrl ? 'okta' : 'emulator',
    auth: !auth ? null : auth.method === 'api-token' ? { method: auth.method, token: 'set' } : { method: auth.method, clientId: auth.clientId, keyId: auth.keyId ?? null, privateKey: 'set', scopes: auth.scopes },
    profileMapping: rest.profileMapping,
    groupRules: rest.groupRules,
    onDelete: rest.onDelete,
    activation: rest.activation,
    auth0IdAttribute: rest.auth0IdAttribute,
  };
}
