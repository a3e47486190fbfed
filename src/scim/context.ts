import type { Kysely } from 'kysely';
import type { ScimSettings } from '../config.js';
import type { Database } from '../db/schema.js';
import type { DirectoryEvents } from '../sync/events.js';

/** What a SCIM service call needs: the database, the tenant it acts for, and where its URLs point. */
export interface ScimContext {
  readonly db: Kysely<Database>;
  readonly tenantId: string;
  /** The tenant's SCIM root, e.g. `https://host/scim/v2/acme`, for `meta.location` and `$ref`. */
  readonly baseUrl: string;
  readonly settings: ScimSettings;
  /** Tells the Auth0 sync which users changed, inside the write's transaction; absent when no sync runs. */
  readonly events?: DirectoryEvents;
}

/** A resource and its entity tag, for the `ETag` response header. */
export interface Rendered {
  readonly resource: Record<string, unknown>;
  readonly etag: string;
}
