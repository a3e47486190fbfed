/**
 * What `serve` refuses to start with. A development start defaults whatever is missing (the embedded
 * database, the built-in Auth0 emulator, a key kept in the data directory) and says so; a production
 * start (`NODE_ENV=production`, as the container image sets) must not quietly sync a real directory into
 * an in-memory Auth0 or store tokens it can never open again, so it stops with a message that names the
 * variables to set instead.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';

/** Checks made from the configuration alone, before the database is opened. */
export function checkStartConfig(config: Config): void {
  if (config.sync.enabled && !config.auth0 && !config.auth0Emulator) {
    throw new ConfigError(
      (config.production ? 'NODE_ENV=production and no Auth0 tenant is configured' : 'no Auth0 tenant is configured and AUTH0_EMULATOR=false') +
        ': set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (docs/auth0-setup.md); or AUTH0_EMULATOR=true to sync into the ' +
        'built-in in-memory emulator (demos only: what it holds is lost at every restart); or SYNC_ENABLED=false to serve SCIM without Auth0 sync',
    );
  }
}

interface SealedToken {
  readonly tenant: string;
  readonly connection: string;
  readonly sealed: string;
}

/** The inbound SCIM tokens the stored bindings keep sealed (docs/sync.md, `scim.token`). */
async function sealedTokens(db: Kysely<Database>): Promise<SealedToken[]> {
  const rows = await db
    .selectFrom('tenant_sync_config')
    .innerJoin('tenants', 'tenants.id', 'tenant_sync_config.tenant_id')
    .select(['tenants.name as tenant', 'tenant_sync_config.binding as binding'])
    .orderBy('tenants.name')
    .execute();
  const tokens: SealedToken[] = [];
  for (const row of rows) {
    const connections = (row.binding as { connections?: { name?: unknown; scim?: { sealedToken?: unknown } }[] }).connections ?? [];
    for (const c of connections) {
      if (typeof c.scim?.sealedToken === 'string') tokens.push({ tenant: row.tenant, connection: String(c.name), sealed: c.scim.sealedToken });
    }
  }
  return tokens;
}

function describe(tokens: readonly SealedToken[]): string {
  const shown = tokens.slice(0, 5).map((t) => `tenant "${t.tenant}" connection "${t.connection}"`).join(', ');
  return tokens.length > 5 ? `${shown} and ${tokens.length - 5} more` : shown;
}

/**
 * Stored bindings whose sealed secrets this process cannot open: without a key, or with another key than
 * the one that sealed them. Their users would fail to sync one by one; a production start refuses instead,
 * a development start warns.
 */
export async function checkSealedSecrets(db: Kysely<Database>, secrets: SecretBox | undefined, config: Config, logger: Logger): Promise<void> {
  const tokens = await sealedTokens(db);
  if (tokens.length === 0) return;
  let problem: string | undefined;
  if (!secrets) {
    problem = `PROVISIO_ENCRYPTION_KEY is not set, and the bindings of ${describe(tokens)} keep an inbound SCIM token sealed with it`;
  } else {
    const unreadable = tokens.filter((t) => {
      try {
        secrets.open(t.sealed);
        return false;
      } catch {
        return true;
      }
    });
    if (unreadable.length > 0) {
      problem = `PROVISIO_ENCRYPTION_KEY does not open the inbound SCIM token of ${describe(unreadable)}: it was sealed with another key (set the key they were sealed with, or bind those tenants again)`;
    }
  }
  if (!problem) return;
  if (config.production) throw new ConfigError(problem);
  logger.warn(`${problem}; the users of those connections cannot be created in Auth0 until this is fixed`);
}
