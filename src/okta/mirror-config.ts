import type { Kysely } from 'kysely';
import { findOktaBinding } from '../db/okta.js';
import type { Database } from '../db/schema.js';
import { parseOktaBinding, type OktaBinding } from './binding.js';

const cache = new Map<string, { binding: OktaBinding | undefined; until: number }>();

/** Drops a cached binding (after this process rebinds the tenant; other processes see it within a second). */
export function forgetOktaBinding(tenantId: string): void {
  cache.delete(tenantId);
}

/**
 * The tenant's validated Okta binding, or undefined; cached for a second for explanations. A mirror job
 * reads it `fresh`: a rebinding made by another process (the CLI, the admin API on another replica) queues
 * jobs that must apply the new binding, not this process's copy of the old one.
 */
export async function loadOktaBinding(db: Kysely<Database>, tenantId: string, options: { fresh?: boolean } = {}): Promise<OktaBinding | undefined> {
  const cached = cache.get(tenantId);
  if (!options.fresh && cached && cached.until > Date.now()) return cached.binding;
  const stored = await findOktaBinding(db, tenantId);
  const binding = stored ? parseOktaBinding(stored, { acceptSealed: true }) : undefined;
  cache.set(tenantId, { binding, until: Date.now() + 1000 });
  return binding;
}
