import type { Kysely } from 'kysely';
import { findOktaBinding } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import { parseOktaBinding, type OktaBinding } from './binding.js';

const cache = new Map<string, { binding: OktaBinding | undefined; until: number }>();

/** Drops a cached binding (after this process rebinds the tenant; other processes see it within a second). */
export function forgetOktaBinding(tenantId: string): void {
  cache.delete(tenantId);
}

/** The tenant's validated Okta binding, or undefined (cached for a second: every job of a batch needs it). */
export async function loadOktaBinding(db: Kysely<Database>, tenantId: string): Promise<OktaBinding | undefined> {
  const cached = cache.get(tenantId);
  if (cached && cached.until > Date.now()) return cached.binding;
  const stored = await findOktaBinding(db, tenantId);
  const binding = stored ? parseOktaBinding(stored, { acceptSealed: true }) : undefined;
  cache.set(tenantId, { binding, until: Date.now() + 1000 });
  return binding;
}
