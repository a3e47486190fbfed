import type { OktaGroupRule } from './binding.js';
import { groupTargetKey } from './desired.js';
import { OktaPermanentError, type OktaGateway } from './gateway.js';

/**
 * Resolves the group rules' Okta groups to ids, once per process and org: by id as given, by name through a
 * search (created when missing and `create` is asked). Concurrent jobs resolving one name share the lookup,
 * and a creation that loses a race to another replica finds the winner's group.
 */
export class OktaGroupResolver {
  private readonly resolved = new Map<string, Promise<string | undefined>>();

  constructor(private readonly gateway: OktaGateway) {}

  async resolve(target: OktaGroupRule['oktaGroup'], create: boolean): Promise<string | undefined> {
    if ('id' in target) return target.id;
    const key = groupTargetKey(target);
    const cached = this.resolved.get(key);
    if (cached) {
      const id = await cached.catch(() => undefined);
      if (id !== undefined || !create) return id;
    }
    const lookup = this.lookup(target, create);
    this.resolved.set(key, lookup);
    try {
      const id = await lookup;
      if (id === undefined) this.resolved.delete(key);
      return id;
    } catch (err) {
      this.resolved.delete(key);
      throw err;
    }
  }

  /** Forgets a group that turned out to be gone (deleted in the admin console): the next resolve looks again. */
  forget(target: OktaGroupRule['oktaGroup']): void {
    this.resolved.delete(groupTargetKey(target));
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
