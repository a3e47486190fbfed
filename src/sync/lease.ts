import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { claimLease, releaseLease } from '../db/leases.js';
import type { Database } from '../db/schema.js';

export interface LeaseOptions {
  /** How long a claim lasts; the holder renews it every third of that, a standby checks as often. */
  readonly seconds: number;
  readonly logger?: Logger;
  /** Who this process is in the `leases` table (default: host, pid and a random suffix). */
  readonly holder?: string;
}

/**
 * One process's view of a lease in the database (src/db/leases.ts). `held()` is cheap: it reaches the
 * database only when a renewal or a claim is due. This process counts the lease as held until `seconds`
 * after the claim *started*, which is never later than the database's expiry, so two processes never both
 * believe they hold it; when renewals fail (database unreachable) it stops at that deadline.
 */
export class Lease {
  readonly holder: string;
  private heldUntil = 0;
  private nextCheck = 0;
  private holding = false;
  private released = false;

  constructor(private readonly db: Kysely<Database>, readonly name: string, private readonly options: LeaseOptions) {
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** How often the lease is renewed or claimed. */
  get checkMs(): number {
    return (this.options.seconds * 1000) / 3;
  }

  /** True while this process holds the lease; renews or claims it when due. Throws when the database does. */
  async held(): Promise<boolean> {
    const started = performance.now();
    if (this.released) return false;
    if (started >= this.nextCheck) {
      this.nextCheck = started + this.checkMs;
      let mine: boolean;
      try {
        mine = (await claimLease(this.db, this.name, this.holder, this.options.seconds)).holder === this.holder;
      } catch (err) {
        // Keep what we have until its deadline, and try again soon.
        this.nextCheck = Math.min(this.nextCheck, started + 1000);
        throw err;
      }
      if (mine) this.heldUntil = started + this.options.seconds * 1000;
      if (mine !== this.holding) {
        this.options.logger?.info({ lease: this.name, holder: this.holder }, mine ? `lease "${this.name}" taken: this process runs it` : `lease "${this.name}" held by another process: this one stands by`);
      }
      this.holding = mine;
    }
    return this.holding && performance.now() < this.heldUntil;
  }

  /** Gives the lease up (clean shutdown) so a standby takes over at its next check, not after expiry. */
  async release(): Promise<void> {
    this.released = true;
    if (!this.holding) return;
    this.holding = false;
    await releaseLease(this.db, this.name, this.holder).catch(() => undefined);
  }
}
