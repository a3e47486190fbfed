import type { OktaGroupRule } from './binding.js';
import { groupTargetKey } from './desired.js';
import { OktaPermanentError } from './errors.js';
import type { OktaGateway } from './gateway.js';

/** How long "no such group" is believed: a group created in the admin console meanwhile is found after this. */
const NOT_FOUND_TTL_MS = 30_000;

interface Entry {
  readonly lookup: Promise<string | undefined>;
  /** Until when an `undefined` answer stands. */
  readonly until: number;
}

/**
 * Resolves the group rules' Okta groups to ids, once per process and org: by id as given, by name through a
 * search (created when missing and `create` is asked). Concurrent jobs resolving one name share one lookup —
 * and one creation — and a creation that loses a race to another replica finds the winner's group.
 */
export class OktaGroupResolver {
  private readonly resolved = new Map<string, Entry>();

  constructor(private readonly gateway: OktaGateway, private readonly now: () => number = Date.now) {}

  async resolve(target: OktaGroupRule['oktaGroup'], create: boolean): Promise<string | undefined> {
    if ('id' in target) return target.id;
    const key = groupTargetKey(target);
    const cached = this.resolved.get(key);
    if (cached) {
      const id = await cached.lookup.catch(() => undefined);
      if (id !== undefined) return id;
      if (!create && cached.until > this.now()) return undefined;
      // Another caller may have started the creation while this one waited: share it.
      const current = this.resolved.get(key);
      if (current && current !== cached) return this.resolve(target, create);
    }
    const lookup = this.lookup(target, create);
    const entry = { lookup, until: this.now() + NOT_FOUND_TTL_MS };
    this.resolved.set(key, entry);
    try {
      return await lookup;
    } catch (err) {
      if (this.resolved.get(key) === entry) this.resolved.delete(key);
      throw err;
    }
  }

  /**
   * Forgets a group resolved by name that turned out to be gone (deleted in the admin console), so the next
   * resolve finds or creates it again. False when no name resolved to `groupId` (a rule names it by id).
   */
  async forgetId(groupId: string): Promise<boolean> {
    for (const [key, entry] of this.resolved) {
      if ((await entry.lookup.catch(() => undefined)) === groupId) {
        this.resolved.delete(key);
        return true;
      }
    }
    return false;
  }

  private async lookup(target: { name: string; description?: string }, create: boolean): Promise<string | undefined> {
    const found = await this.gateway.findGroupByName(target.name);
    if (found) return found.id;
    if (!create) return undefined;
    try {
      return (await this.gateway.createGroup(target.name, target.description)).id;
    } catch (err) {
      // Created meanwhile by another process: Okta refuses the duplicate name (400 E0000001).
      if (err instanceof OktaPermanentError && err.status === 400) {
        const winner = await this.gateway.findGroupByName(target.name);
        if (winner) return winner.id;
      }
      throw err;
    }
  }
}
