/**
 * RFC 9865 paging cursors. A cursor is the position a page starts from (the sort key and id of the row
 * just outside it, see keysetPage in src/scim/sql/list.ts), bound to the tenant, the resource type and the
 * query (filter, sortBy, sortOrder) and to an expiry, and signed with HMAC-SHA256 under a key every
 * replica shares (migration 0007): opaque to clients, tamper-evident, and accepted by any replica. It
 * holds no server-side state, so a walk costs nothing between requests; the expiry (`cursorTimeout`,
 * SCIM_CURSOR_TIMEOUT_SECONDS) only bounds how long a leaked cursor stays usable.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Filter } from 'scim2-parse-filter';
import type { KeysetPosition } from './sql/list.js';
import type { Database } from '../db/schema.js';
import { findServerKey } from '../db/server-keys.js';
import { ScimError } from './errors.js';

/** What a cursor is valid for: one tenant's walk over one resource type with one query. */
export interface CursorScope {
  readonly tenantId: string;
  readonly resourceType: string;
  readonly filter?: Filter;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
}

/** A decoded cursor: read the page after `position` (`next`) or before it (`previous`). */
export interface CursorState {
  readonly direction: 'next' | 'previous';
  readonly position: KeysetPosition;
}

interface Payload {
  /** Format version. */
  readonly v: 1;
  /** Scope fingerprint (see `fingerprint`). */
  readonly s: string;
  readonly d: 'n' | 'p';
  readonly k: unknown;
  readonly i: string;
  /** Expiry, seconds since the epoch. */
  readonly x: number;
}

const INVALID = 'The cursor is not valid: send an empty cursor for the first page, then the nextCursor or previousCursor of the page before, with the same filter, sortBy and sortOrder';

function fingerprint(scope: CursorScope): string {
  return JSON.stringify([scope.tenantId, scope.resourceType, scope.filter ?? null, scope.sortBy?.toLowerCase() ?? null, scope.sortOrder]);
}

export class CursorCodec {
  constructor(private readonly key: Buffer, readonly timeoutSeconds: number, private readonly now: () => number = Date.now) {}

  private sign(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest();
  }

  encode(scope: CursorScope, state: CursorState): string {
    const payload: Payload = {
      v: 1,
      s: fingerprint(scope),
      d: state.direction === 'next' ? 'n' : 'p',
      k: state.position.key,
      i: state.position.id,
      x: Math.floor(this.now() / 1000) + this.timeoutSeconds,
    };
    // The scope is signed but not carried: the request supplies it again, and a cursor stays short.
    const { s: _scope, ...carried } = payload;
    const body = Buffer.from(JSON.stringify(carried)).toString('base64url');
    return `${body}.${this.sign(`${body}.${payload.s}`).toString('base64url')}`;
  }

  /** The state of a cursor issued for this scope; 400 `invalidCursor` or `expiredCursor` otherwise. */
  decode(scope: CursorScope, cursor: string): CursorState {
    const dot = cursor.indexOf('.');
    if (dot <= 0 || cursor.length > 8192) throw ScimError.invalidCursor(INVALID);
    const body = cursor.slice(0, dot);
    const mac = Buffer.from(cursor.slice(dot + 1), 'base64url');
    const expected = this.sign(`${body}.${fingerprint(scope)}`);
    // A cursor of another tenant, resource type or query fails here too: its scope is part of the MAC.
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw ScimError.invalidCursor(INVALID);
    let payload: Omit<Payload, 's'>;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Omit<Payload, 's'>;
    } catch {
      throw ScimError.invalidCursor(INVALID);
    }
    if (payload.v !== 1 || (payload.d !== 'n' && payload.d !== 'p') || typeof payload.i !== 'string' || typeof payload.x !== 'number') {
      throw ScimError.invalidCursor(INVALID);
    }
    if (payload.x * 1000 < this.now()) {
      throw ScimError.expiredCursor(`The cursor has expired (cursorTimeout is ${this.timeoutSeconds} s): start the walk again with an empty cursor`);
    }
    return { direction: payload.d === 'n' ? 'next' : 'previous', position: { key: payload.k ?? null, id: payload.i } };
  }
}

/** One codec per database (its key is read once); the key is made by migration 0007. */
const codecs = new WeakMap<Kysely<Database>, Promise<CursorCodec>>();

export function cursorCodec(db: Kysely<Database>, timeoutSeconds: number): Promise<CursorCodec> {
  let codec = codecs.get(db);
  if (!codec) {
    codec = findServerKey(db, 'cursor').then((key) => {
      if (!key) throw new Error('the cursor signing key is missing (migration 0007-server-keys)');
      return new CursorCodec(key, timeoutSeconds);
    });
    // A failed read (database unavailable) is retried by the next request, not cached.
    codec.catch(() => codecs.delete(db));
    codecs.set(db, codec);
  }
  return codec;
}
