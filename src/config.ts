/**
 * The only reader of `process.env`. Every setting is validated here, at start, with a message that
 * names the variable; nothing else in the code looks at the environment.
 */
import path from 'node:path';

export interface Config {
  /** PostgreSQL connection string; when absent the embedded PGlite database in `dataDir` is used. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly pgPoolMax: number;
  readonly port: number;
  readonly host: string;
  /** Public base URL (scheme://host[:port]) used in `meta.location`; derived from the request when unset. */
  readonly publicUrl?: string;
  readonly logLevel: string;
  readonly scim: ScimSettings;
  /** The Auth0 tenant to sync into; absent means the built-in emulator (zero-config, said loudly). */
  readonly auth0?: Auth0Config;
  readonly sync: SyncSettings;
  /**
   * HS256 secret shared with the Auth0 Post-Login Action (its `PROVISIO_SECRET`); absent means the
   * `POST /v1/auth0/post-login` decision endpoint is not served.
   */
  readonly actionSecret?: string;
  /** Auth0-issued RS256 access tokens accepted on `/v1/admin` (absent: admin API tokens only). */
  readonly adminJwt?: AdminJwtConfig;
}

export interface AdminJwtConfig {
  /** The `iss` claim, e.g. `https://acme.eu.auth0.com/` (Auth0 ends it with a slash). */
  readonly issuer: string;
  /** The `aud` claim: the identifier of the API created in Auth0 for Provisio. */
  readonly audience: string;
  readonly jwksUrl: string;
  /** How long signing keys are cached; an unknown `kid` is fetched at once. */
  readonly jwksCacheSeconds: number;
}

export interface Auth0Config {
  readonly domain: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Only for the emulator or a proxy: where `https://<domain>` requests really go. */
  readonly baseUrl?: string;
  /** Which documented rate-limit table the budget follows. */
  readonly plan: 'free' | 'essentials' | 'enterprise';
}

export interface SyncSettings {
  readonly enabled: boolean;
  /** PostgreSQL schema of the pg-boss job queue. */
  readonly queueSchema: string;
  readonly retryLimit: number;
  /** A job active this long (its process died) is handed out again. */
  readonly jobExpireSeconds: number;
}

export interface ScimSettings {
  /** Page size when the client sends no `count` (RFC 7644 §3.4.2.4 lets the server choose). */
  readonly defaultPageSize: number;
  /** Largest page the server returns; advertised as `filter.maxResults` in ServiceProviderConfig. */
  readonly maxPageSize: number;
  /** Largest accepted request body in bytes; a bigger one is a 413 SCIM error. */
  readonly maxBodyBytes: number;
  /** How long a verified bearer token is cached in memory before it is looked up again. */
  readonly tokenCacheMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${key} must be an integer, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${key} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${key} must be true or false, got "${raw}"`);
}

function url(env: Env, key: string, protocols: readonly string[]): string | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${key} must be a URL, got a value that does not parse`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${key} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

function encryptionKey(value: string): string {
  const bytes = /^[0-9a-f]{64}$/i.test(value) ? 32 : Buffer.from(value, 'base64').length;
  if (bytes !== 32) throw new ConfigError('PROVISIO_ENCRYPTION_KEY must be 32 bytes: 64 hex characters or base64 (openssl rand -base64 32)');
  return value;
}

function identifier(env: Env, key: string, fallback: string): string {
  const value = env[key] ?? fallback;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new ConfigError(`${key} must be a lower-case SQL identifier, got "${value}"`);
  return value;
}

/** The domain `provisio auth0-emulator` answers to unless started with another. */
export const EMULATOR_DOMAIN = 'provisio-emulator.auth0.local';

/** AUTH0_DOMAIN + AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET together, or none of them. */
function auth0Config(env: Env): Auth0Config | undefined {
  const domain = env.AUTH0_DOMAIN;
  const clientId = env.AUTH0_CLIENT_ID;
  const clientSecret = env.AUTH0_CLIENT_SECRET;
  const baseUrl = url(env, 'AUTH0_BASE_URL', ['http:', 'https:']);
  if (!domain && !clientId && !clientSecret && !baseUrl) return undefined;
  if (!clientId || !clientSecret) throw new ConfigError('AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET must both be set (an M2M application of the Auth0 tenant)');
  // With only AUTH0_BASE_URL (pointing at `provisio auth0-emulator`), the domain is the emulator's default.
  const host = domain ?? (baseUrl ? EMULATOR_DOMAIN : undefined);
  if (!host || /[/?#]/.test(host)) throw new ConfigError('AUTH0_DOMAIN must be a bare host name such as example.eu.auth0.com');
  const plan = env.AUTH0_PLAN ?? 'enterprise';
  if (plan !== 'free' && plan !== 'essentials' && plan !== 'enterprise') throw new ConfigError(`AUTH0_PLAN must be free, essentials or enterprise, got "${plan}"`);
  return { domain: host, clientId, clientSecret, ...(baseUrl ? { baseUrl } : {}), plan };
}

/**
 * PROVISIO_ACTION_SECRET: at least 32 characters (a 256-bit HS256 key, RFC 7518 §3.2) and at most 4096
 * (an Auth0 Action secret value's limit, research/auth0.md §4.1).
 */
function actionSecret(env: Env): string | undefined {
  const raw = env.PROVISIO_ACTION_SECRET;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32 || raw.length > 4096) throw new ConfigError(`PROVISIO_ACTION_SECRET must be 32 to 4096 characters (HS256 needs a 256-bit key), got ${raw.length}`);
  if (raw.trim() !== raw) throw new ConfigError('PROVISIO_ACTION_SECRET must not start or end with whitespace');
  return raw;
}

/** ADMIN_JWT_ISSUER + ADMIN_JWT_AUDIENCE together, or neither. */
function adminJwtConfig(env: Env): AdminJwtConfig | undefined {
  const issuer = url(env, 'ADMIN_JWT_ISSUER', ['https:', 'http:']);
  const audience = env.ADMIN_JWT_AUDIENCE;
  const jwksUrl = url(env, 'ADMIN_JWKS_URL', ['https:', 'http:']);
  if (!issuer && !audience && !jwksUrl) return undefined;
  if (!issuer || !audience) throw new ConfigError('ADMIN_JWT_ISSUER and ADMIN_JWT_AUDIENCE must both be set to accept Auth0 access tokens on the admin API');
  // Whoever can answer the JWKS request can sign operator tokens: plain HTTP only to this machine (tests).
  for (const [key, value] of [['ADMIN_JWT_ISSUER', issuer], ['ADMIN_JWKS_URL', jwksUrl]] as const) {
    if (value && new URL(value).protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(value).hostname)) {
      throw new ConfigError(`${key} must use https: (plain http is accepted for localhost only), got ${value}`);
    }
  }
  return {
    issuer,
    audience,
    // Auth0 publishes a tenant's signing keys at <issuer>.well-known/jwks.json.
    jwksUrl: jwksUrl ?? new URL('.well-known/jwks.json', issuer.endsWith('/') ? issuer : `${issuer}/`).href,
    jwksCacheSeconds: integer(env, 'ADMIN_JWKS_CACHE_SECONDS', 600, 0, 86_400),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the configuration; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '');
  const maxPageSize = integer(env, 'SCIM_MAX_PAGE_SIZE', 1000, 1, 10_000);
  const defaultPageSize = integer(env, 'SCIM_DEFAULT_PAGE_SIZE', Math.min(100, maxPageSize), 1, maxPageSize);
  const secret = actionSecret(env);
  const adminJwt = adminJwtConfig(env);
  return {
    ...(adminJwt ? { adminJwt } : {}),
    auth0: auth0Config(env),
    ...(env.PROVISIO_ENCRYPTION_KEY ? { encryptionKey: encryptionKey(env.PROVISIO_ENCRYPTION_KEY) } : {}),
    sync: {
      enabled: boolean(env, 'SYNC_ENABLED', true),
      queueSchema: identifier(env, 'QUEUE_SCHEMA', 'pgboss'),
      retryLimit: integer(env, 'SYNC_RETRY_LIMIT', 8, 0, 100),
      jobExpireSeconds: integer(env, 'SYNC_JOB_EXPIRE_SECONDS', 300, 10, 86_400),
    },
    ...(secret ? { actionSecret: secret } : {}),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: path.resolve(env.DATA_DIR ?? './data'),
    pgPoolMax: integer(env, 'PG_POOL_MAX', 20, 1, 1000),
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    publicUrl,
    logLevel,
    scim: {
      defaultPageSize,
      maxPageSize,
      maxBodyBytes: integer(env, 'SCIM_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      tokenCacheMs: integer(env, 'SCIM_TOKEN_CACHE_MS', 5000, 0, 3_600_000),
    },
  };
}
