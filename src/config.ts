/**
 * The only reader of `process.env`. Every setting is validated here, at start, with a message that
 * names the variable; nothing else in the code looks at the environment.
 */
import path from 'node:path';
import { isValidNetwork } from './events/destination.js';

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
  /** `NODE_ENV=production` (the container image sets it): a missing setting is refused, not defaulted. */
  readonly production: boolean;
  /**
   * Whether the built-in in-memory Auth0 emulator may stand in when no Auth0 tenant is configured
   * (`AUTH0_EMULATOR`; default true, except under `NODE_ENV=production`, where it must be asked for).
   */
  readonly auth0Emulator: boolean;
  readonly sync: SyncSettings;
  readonly okta: OktaSettings;
  /**
   * HS256 secret shared with the Auth0 Post-Login Action (its `PROVISIO_SECRET`); absent means the
   * `POST /v1/auth0/post-login` decision endpoint is not served.
   */
  readonly actionSecret?: string;
  /** Auth0-issued RS256 access tokens accepted on `/v1/admin` (absent: admin API tokens only). */
  readonly adminJwt?: AdminJwtConfig;
  readonly database: DatabaseTimeouts;
  readonly http: HttpTimeouts;
  readonly scimAudit: ScimAuditSettings;
  readonly events: EventSettings;
  /**
   * Which proxies' `X-Forwarded-For`/`-Proto`/`-Host` to believe (Fastify's `trustProxy`): absent, none;
   * `true`, any; a number, that many hops; else the proxies' addresses or CIDR ranges.
   */
  readonly trustProxy?: boolean | number | readonly string[];
}

/** Every wait on the database is bounded: a slow or vanished database is a 503, never a hang. */
export interface DatabaseTimeouts {
  /** `statement_timeout` of request work (SCIM, admin, login): a statement running longer is cancelled. */
  readonly statementTimeoutMs: number;
  /** `statement_timeout` of the sync worker's and the queue's statements. */
  readonly syncStatementTimeoutMs: number;
  /** How long a request waits to get a pooled connection (or to open a new one) before it is a 503. */
  readonly connectTimeoutMs: number;
  /** The `Retry-After` (seconds) sent with a 503 while the database is unavailable. */
  readonly retryAfterSeconds: number;
}

/** Slow clients: connections that never finish their request are closed (Node's http server timeouts). */
export interface HttpTimeouts {
  /** Whole request, headers and body, must arrive within this (`requestTimeout`). */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (`headersTimeout`). */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (`keepAliveTimeout`). */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no activity at all is closed after this (`connectionTimeout`). */
  readonly idleTimeoutMs: number;
}

/** A token bucket: `perSecond` refill, `burst` capacity. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * What one client can make us store or compute, enforced before any SQL runs. Every refusal is a SCIM
 * 400 (`invalidFilter`, `invalidValue`, `tooMany`) or 413 whose detail names the limit.
 */
export interface InputLimits {
  /** Comparisons (`eq`, `pr`, …) in one filter, counting those inside `[...]` value filters. */
  readonly filterMaxTerms: number;
  /** Nesting of `and`/`or`/`not`/parentheses/`[...]` in one filter. */
  readonly filterMaxDepth: number;
  /** Characters of one filter expression (also of one PATCH path, `sortBy` and `attributes=`). */
  readonly filterMaxLength: number;
  /** Characters of one comparison value in a filter. */
  readonly filterMaxValueLength: number;
  /** UTF-8 bytes of an indexed string: `userName`, `externalId`, `displayName`, an email `value`. */
  readonly maxIndexedValueLength: number;
  /** Characters of any other string attribute value. */
  readonly maxValueLength: number;
  /** Entries of one multi-valued attribute (emails, phoneNumbers, …; group `members` per request). */
  readonly maxMultiValues: number;
  /** Bytes of one stored resource (its JSON, without group members). */
  readonly maxResourceBytes: number;
}

export interface AdminJwtConfig {
  /** The `iss` claim, e.g. `https://acme.eu.auth0.com/` (Auth0 ends it with a slash). */
  readonly issuer: string;
  /** The `aud` claim: the identifier of the API created in Auth0 for Provisio. */
  readonly audience: string;
  readonly jwksUrl: string;
  /** How long signing keys are cached; an unknown `kid` is fetched at once. */
  readonly jwksCacheSeconds: number;
  /**
   * The client id of the Auth0 single-page application the web console signs staff in with
   * (`CONSOLE_AUTH0_CLIENT_ID`); absent, the console offers admin tokens and sign-in links only.
   */
  readonly consoleClientId?: string;
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
  /** Jobs one process runs at once, all tenants together. */
  readonly concurrency: number;
  /** Jobs one tenant may have running at once over all replicas (its import leaves the rest to others). */
  readonly tenantConcurrency: number;
  /** The sync lease: one replica runs the sync; a standby takes over within about 4/3 of this after it stops renewing. */
  readonly leaseSeconds: number;
}

/** The Okta mirror's lane (docs/okta-mirror.md); its queue shares the sync's retry and expiry settings. */
export interface OktaSettings {
  /** `OKTA_CONCURRENCY`: mirror jobs one process runs at once, all tenants together (default 10). */
  readonly concurrency: number;
  /** `OKTA_TENANT_CONCURRENCY`: mirror jobs one tenant may have running at once over all replicas (default 4). */
  readonly tenantConcurrency: number;
  /** `OKTA_TIMEOUT_MS`: one Okta request, connect to answer (default 15 s); a timeout is retried by the job. */
  readonly timeoutMs: number;
  /** `OKTA_RATE_RESERVE_PERCENT`: requests of each Okta rate window left unused, for the org's other clients (default 10 %). */
  readonly rateReserve: number;
}

/** Events out: the outbox, its retention and the webhook lane (docs/events.md). */
export interface EventSettings {
  /** `WEBHOOKS`: deliver to webhook endpoints from this process (default on; the outbox is always written). */
  readonly deliver: boolean;
  /** `EVENT_RETENTION_DAYS`: events older than this are pruned hourly, with settled deliveries (default 30). */
  readonly retentionDays: number;
  /** `EVENT_POLL_MS`: how often an idle process looks for new events and webhook jobs (default 250). */
  readonly pollMs: number;
  /** `WEBHOOK_ALLOW_HTTP`: plain http to any host (default: http to localhost only). */
  readonly allowHttp: boolean;
  /**
   * `WEBHOOK_ALLOWED_NETWORKS`: private, loopback or link-local CIDR ranges receivers may be in (default: the
   * loopback ranges, none under NODE_ENV=production; an empty value allows none).
   */
  readonly allowedNetworks: readonly string[];
  /** `WEBHOOK_TIMEOUT_MS`: a whole attempt, connect to answer (default 10 s). */
  readonly timeoutMs: number;
  /** `WEBHOOK_RETRY_PERIOD_HOURS`: how long a failing delivery is retried before it is given up (default 72). */
  readonly retryPeriodHours: number;
  /** `WEBHOOK_FIRST_RETRY_MS`: the wait after a first failure, growing 6-fold per attempt (default 5 s). */
  readonly firstRetryDelayMs: number;
  /** `WEBHOOK_MAX_RETRY_DELAY_MS`: the longest wait between attempts (default 6 h). */
  readonly maxRetryDelayMs: number;
  /** `WEBHOOK_DISABLE_AFTER_HOURS`: an endpoint with no success for this long is disabled (default 120). */
  readonly disableAfterHours: number;
  /** `WEBHOOK_CONCURRENCY`: deliveries this process makes at once (default 32). */
  readonly concurrency: number;
  /** `WEBHOOK_ENDPOINT_CONCURRENCY`: requests in flight to one endpoint from one process (default 16). */
  readonly endpointConcurrency: number;
  /** `WEBHOOK_JOB_EXPIRE_SECONDS`: a delivery job running longer (its process died) is run again (default 60). */
  readonly jobExpireSeconds: number;
}

/** The SCIM request audit trail (src/scim/audit-trail.ts). */
export interface ScimAuditSettings {
  /** `SCIM_AUDIT`: record every SCIM request of a tenant (default on). */
  readonly enabled: boolean;
  /** `SCIM_AUDIT_RETENTION_DAYS`: records older than this are pruned hourly (default 30). */
  readonly retentionDays: number;
  /**
   * `SCIM_AUDIT_READS_PER_SECOND`: successful reads listed one by one per tenant and second (default 20); the
   * rest are counted in one row. Writes and refused requests are always listed.
   */
  readonly readsPerSecond: number;
}

export interface ScimSettings {
  /** Page size when the client sends no `count` (RFC 7644 §3.4.2.4 lets the server choose). */
  readonly defaultPageSize: number;
  /** Largest page the server returns; advertised as `filter.maxResults` in ServiceProviderConfig. */
  readonly maxPageSize: number;
  /** How long an RFC 9865 paging cursor stays valid (`cursorTimeout` in ServiceProviderConfig). */
  readonly cursorTimeoutSeconds: number;
  /** Largest accepted request body in bytes; a bigger one is a 413 SCIM error. */
  readonly maxBodyBytes: number;
  /** How long a verified bearer token is cached in memory before it is looked up again. */
  readonly tokenCacheMs: number;
  readonly limits: InputLimits;
  /** Inbound throttling per tenant and per token (`SCIM_RATE_LIMIT`); absent when `off`. */
  readonly rateLimit?: RateLimit;
  /** Failed authentications per source address (`AUTH_FAILURE_RATE_LIMIT`); absent when `off`. */
  readonly authFailureRateLimit?: RateLimit;
  readonly bulk: BulkLimits;
}

/** RFC 7644 §3.7.4: what one `POST /Bulk` may carry; advertised in ServiceProviderConfig, a 413 above. */
export interface BulkLimits {
  /** Operations in one BulkRequest (`SCIM_BULK_MAX_OPERATIONS`; `maxOperations`). */
  readonly maxOperations: number;
  /** Bytes of one BulkRequest body (`SCIM_BULK_MAX_PAYLOAD_BYTES`; `maxPayloadSize`); replaces `maxBodyBytes` on that route. */
  readonly maxPayloadBytes: number;
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

function onOff(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['on', 'true', '1'].includes(raw)) return true;
  if (['off', 'false', '0'].includes(raw)) return false;
  throw new ConfigError(`${key} must be on or off, got "${env[key]}"`);
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
  const consoleClientId = env.CONSOLE_AUTH0_CLIENT_ID?.trim() || undefined;
  if (consoleClientId && (!issuer || !audience)) {
    throw new ConfigError('CONSOLE_AUTH0_CLIENT_ID needs ADMIN_JWT_ISSUER and ADMIN_JWT_AUDIENCE: the console signs in with the Auth0 tenant and API the admin API accepts tokens from');
  }
  if (consoleClientId && !/^[A-Za-z0-9_-]{1,128}$/.test(consoleClientId)) throw new ConfigError('CONSOLE_AUTH0_CLIENT_ID must be an Auth0 client id (letters, digits, - and _)');
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
    ...(consoleClientId ? { consoleClientId } : {}),
  };
}

/**
 * `100/s,burst=500` (also `/m` per minute; the burst defaults to one second's worth), or `off`.
 */
export function parseRateLimit(key: string, raw: string): RateLimit | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'off' || text === 'false' || text === '0') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*\/\s*(s|sec|second|m|min|minute)\s*(?:,\s*burst\s*=\s*(\d+))?$/.exec(text);
  const rate = match ? Number(match[1]) / (match[2]!.startsWith('m') ? 60 : 1) : NaN;
  const burst = match?.[3] !== undefined ? Number(match[3]) : Math.ceil(rate);
  if (!match || !(rate > 0) || rate > 1_000_000 || !(burst >= 1) || burst > 10_000_000) {
    throw new ConfigError(`${key} must look like "100/s,burst=500" or "600/m" or be "off", got "${raw}"`);
  }
  return { perSecond: rate, burst: Math.max(1, burst) };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function optionalRateLimit<K extends string>(env: Env, key: string, fallback: string, field: K): { [P in K]?: RateLimit } {
  const raw = env[key];
  const limit = parseRateLimit(key, raw === undefined || raw === '' ? fallback : raw);
  return (limit ? { [field]: limit } : {}) as { [P in K]?: RateLimit };
}

function trustProxy(env: Env): Config['trustProxy'] {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === '' || raw === 'false') return undefined;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 1, 100);
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0 || entries.some((e) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(e))) {
    throw new ConfigError(`TRUST_PROXY must be true, false, a hop count, or proxy addresses/CIDR ranges separated by commas, got "${raw}"`);
  }
  return entries;
}

function eventSettings(env: Env, production: boolean): EventSettings {
  // A receiver on this machine is how a developer tries webhooks; production allows no private range unless named.
  const allowedNetworks = (env.WEBHOOK_ALLOWED_NETWORKS ?? (production ? '' : '127.0.0.0/8,::1/128')).split(',').map((n) => n.trim()).filter((n) => n !== '');
  const bad = allowedNetworks.find((n) => !isValidNetwork(n));
  if (bad !== undefined) throw new ConfigError(`WEBHOOK_ALLOWED_NETWORKS must list CIDR ranges (e.g. 10.20.0.0/16), got "${bad}"`);
  const retryPeriodHours = integer(env, 'WEBHOOK_RETRY_PERIOD_HOURS', 72, 0, 24 * 30);
  return {
    deliver: onOff(env, 'WEBHOOKS', true),
    retentionDays: integer(env, 'EVENT_RETENTION_DAYS', 30, 1, 3650),
    pollMs: integer(env, 'EVENT_POLL_MS', 250, 10, 60_000),
    allowHttp: boolean(env, 'WEBHOOK_ALLOW_HTTP', false),
    allowedNetworks,
    timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    retryPeriodHours,
    firstRetryDelayMs: integer(env, 'WEBHOOK_FIRST_RETRY_MS', 5000, 10, 3_600_000),
    maxRetryDelayMs: integer(env, 'WEBHOOK_MAX_RETRY_DELAY_MS', 6 * 3_600_000, 10, 86_400_000),
    disableAfterHours: integer(env, 'WEBHOOK_DISABLE_AFTER_HOURS', 120, 0, 24 * 365),
    concurrency: integer(env, 'WEBHOOK_CONCURRENCY', 32, 1, 1000),
    endpointConcurrency: integer(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 16, 1, 100),
    jobExpireSeconds: integer(env, 'WEBHOOK_JOB_EXPIRE_SECONDS', 60, 5, 3600),
  };
}

/** Reads and validates the configuration; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '');
  const maxPageSize = integer(env, 'SCIM_MAX_PAGE_SIZE', 1000, 1, 10_000);
  const defaultPageSize = integer(env, 'SCIM_DEFAULT_PAGE_SIZE', Math.min(100, maxPageSize), 1, maxPageSize);
  const secret = actionSecret(env);
  const adminJwt = adminJwtConfig(env);
  const production = env.NODE_ENV === 'production';
  const auth0 = auth0Config(env);
  const auth0Emulator = boolean(env, 'AUTH0_EMULATOR', !production);
  if (auth0 && env.AUTH0_EMULATOR && auth0Emulator) {
    throw new ConfigError('AUTH0_EMULATOR=true asks for the built-in emulator, but an Auth0 tenant is configured (AUTH0_DOMAIN/AUTH0_BASE_URL): unset one of them');
  }
  return {
    ...(adminJwt ? { adminJwt } : {}),
    auth0,
    production,
    auth0Emulator,
    ...(env.PROVISIO_ENCRYPTION_KEY ? { encryptionKey: encryptionKey(env.PROVISIO_ENCRYPTION_KEY) } : {}),
    sync: {
      enabled: boolean(env, 'SYNC_ENABLED', true),
      queueSchema: identifier(env, 'QUEUE_SCHEMA', 'pgboss'),
      retryLimit: integer(env, 'SYNC_RETRY_LIMIT', 8, 0, 100),
      jobExpireSeconds: integer(env, 'SYNC_JOB_EXPIRE_SECONDS', 300, 10, 86_400),
      concurrency: integer(env, 'SYNC_CONCURRENCY', 50, 1, 1000),
      tenantConcurrency: integer(env, 'SYNC_TENANT_CONCURRENCY', 10, 1, 1000),
      leaseSeconds: integer(env, 'SYNC_LEASE_SECONDS', 15, 3, 600),
    },
    okta: {
      concurrency: integer(env, 'OKTA_CONCURRENCY', 10, 1, 1000),
      tenantConcurrency: integer(env, 'OKTA_TENANT_CONCURRENCY', 4, 1, 1000),
      timeoutMs: integer(env, 'OKTA_TIMEOUT_MS', 15_000, 100, 600_000),
      rateReserve: integer(env, 'OKTA_RATE_RESERVE_PERCENT', 10, 0, 90) / 100,
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
      cursorTimeoutSeconds: integer(env, 'SCIM_CURSOR_TIMEOUT_SECONDS', 3600, 10, 604_800),
      maxBodyBytes: integer(env, 'SCIM_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      tokenCacheMs: integer(env, 'SCIM_TOKEN_CACHE_MS', 5000, 0, 3_600_000),
      limits: {
        filterMaxTerms: integer(env, 'SCIM_FILTER_MAX_TERMS', 50, 1, 10_000),
        // PGlite cannot evaluate the SQL of a filter nested a few hundred levels deep: the ceiling stays well below.
        filterMaxDepth: integer(env, 'SCIM_FILTER_MAX_DEPTH', 10, 1, 100),
        filterMaxLength: integer(env, 'SCIM_FILTER_MAX_LENGTH', 4096, 64, 1_048_576),
        filterMaxValueLength: integer(env, 'SCIM_FILTER_MAX_VALUE_LENGTH', 1024, 1, 1_048_576),
        // UTF-8 bytes, not characters: PostgreSQL's btree refuses index rows above ~2700 bytes, and 1024
        // characters can be 3 KB. The ceiling of 2048 keeps room for lower-casing, which can grow a string.
        maxIndexedValueLength: integer(env, 'SCIM_MAX_INDEXED_VALUE_LENGTH', 1024, 16, 2048),
        maxValueLength: integer(env, 'SCIM_MAX_VALUE_LENGTH', 65_536, 64, 16_777_216),
        maxMultiValues: integer(env, 'SCIM_MAX_MULTI_VALUES', 100, 1, 100_000),
        maxResourceBytes: integer(env, 'SCIM_MAX_RESOURCE_BYTES', 262_144, 1024, 268_435_456),
      },
      ...optionalRateLimit(env, 'SCIM_RATE_LIMIT', '100/s,burst=500', 'rateLimit'),
      ...optionalRateLimit(env, 'AUTH_FAILURE_RATE_LIMIT', '10/s,burst=100', 'authFailureRateLimit'),
      bulk: {
        maxOperations: integer(env, 'SCIM_BULK_MAX_OPERATIONS', 1000, 1, 10_000),
        maxPayloadBytes: integer(env, 'SCIM_BULK_MAX_PAYLOAD_BYTES', 1_048_576, 1024, 268_435_456),
      },
    },
    database: {
      statementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 3_600_000),
      syncStatementTimeoutMs: integer(env, 'DB_SYNC_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
      connectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 3000, 100, 600_000),
      retryAfterSeconds: integer(env, 'DB_RETRY_AFTER_SECONDS', 5, 1, 3600),
    },
    ...(trustProxy(env) !== undefined ? { trustProxy: trustProxy(env) } : {}),
    scimAudit: {
      enabled: onOff(env, 'SCIM_AUDIT', true),
      retentionDays: integer(env, 'SCIM_AUDIT_RETENTION_DAYS', 30, 1, 3650),
      readsPerSecond: integer(env, 'SCIM_AUDIT_READS_PER_SECOND', 20, 0, 1_000_000),
    },
    events: eventSettings(env, production),
    http: {
      requestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
      headersTimeoutMs: integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 1000, 3_600_000),
      keepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 3_600_000),
      idleTimeoutMs: integer(env, 'HTTP_IDLE_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    },
  };
}
