import t from 'tap';
import { PLAN_RATES, RateBudget, type Auth0Bucket } from '../../src/auth0/rate-budget.js';
import { RATE_PLANS } from '../../src/auth0/emulator/rate-limit.js';

class FakeClock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;
  constructor(public time = 1_700_000_000_000) {}

  now = (): number => this.time;

  setTimer = (fn: () => void, ms: number): (() => void) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  };

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = target;
    await flush();
  }
}

/** Lets queued promise reactions run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Starts `count` acquires for `key` and records each grant (key, fake time) in `log` as it happens. */
function enqueue(budget: RateBudget, clock: FakeClock, log: { key: string; at: number }[], bucket: Auth0Bucket, key: string, count: number, scope = ''): Promise<void>[] {
  return Array.from({ length: count }, () => budget.acquire(bucket, key, scope).then(() => {
    log.push({ key, at: clock.time });
  }));
}

function headers(h: Record<string, string>): { get(name: string): string | null } {
  return { get: (name) => h[name.toLowerCase()] ?? null };
}

t.test('the plan tables match the documented limits the emulator enforces (research/auth0.md §2)', async (t) => {
  for (const plan of ['free', 'essentials', 'enterprise'] as const) {
    const ours = PLAN_RATES[plan];
    const emu = RATE_PLANS[plan];
    t.same(ours.global, emu.global, `${plan} global`);
    for (const [name, rate] of Object.entries(emu.endpoints)) {
      const key = name === 'scim_connection' ? 'scim' : name;
      if (name === 'scim_tenant') t.same(ours.scimTenant, rate, `${plan} scim tenant`);
      else t.same(ours.endpoints[key as Auth0Bucket], rate, `${plan} ${name}`);
    }
  }
});

t.test('fairness: tenant B\'s single call is granted within a couple of grants of tenant A\'s 1,000', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock });
  const log: { key: string; at: number }[] = [];
  const a = enqueue(budget, clock, log, 'write_org_members', 'tenant-a', 1000);
  await flush();
  const burst = log.length;
  t.equal(burst, 20, 'the write-org-members burst (20) goes out at once');
  const bEnqueuedAt = clock.time;
  const b = enqueue(budget, clock, log, 'write_org_members', 'tenant-b', 1);
  await clock.advance(2_000);
  const bIndex = log.findIndex((g) => g.key === 'tenant-b');
  t.ok(bIndex >= 0, 'B was granted');
  t.ok(bIndex - burst <= 1, `B is at most the second grant after it queued (grant #${bIndex - burst + 1})`);
  t.ok((log[bIndex]?.at ?? Infinity) - bEnqueuedAt <= 600, 'within one refill interval (200/min = 300 ms)');
  await clock.advance(400_000);
  await Promise.all([...a, ...b]);
  t.equal(log.length, 1001);
  t.equal(budget.snapshot().granted, 1001);
});

t.test('fairness at scale: 50,000 queued calls of one tenant delay another tenant\'s single call by one grant', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock });
  const log: { key: string; at: number }[] = [];
  const started = Date.now();
  enqueue(budget, clock, log, 'write_users', 'import', 50_000); // global bucket only on Enterprise
  await flush();
  t.equal(log.length, 50);
  enqueue(budget, clock, log, 'read_users', 'deactivate', 1); // another bucket, same global bucket
  await clock.advance(200);
  const at = log.findIndex((g) => g.key === 'deactivate');
  t.ok(at >= 50 && at <= 51, `granted as the first or second call after the burst (#${at})`);
  t.equal(budget.snapshot().waitingByKey['import'], 50_000 - (log.length - 1));
  t.ok(Date.now() - started < 3000, 'queueing 50,000 calls is cheap');
});

t.test('fairness: three flooding tenants alternate; a later tenant joins the rotation at once', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'free', clock });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'read_users', 'a', 30);
  enqueue(budget, clock, log, 'read_users', 'b', 30);
  enqueue(budget, clock, log, 'write_users', 'c', 30); // another bucket, same global bucket on Free
  await clock.advance(5_000);
  const order = log.map((g) => g.key).join('');
  t.equal(order.slice(0, 2), 'aa', 'the burst of 2 goes to the first caller');
  t.equal(order.slice(2), 'abcabcabca', `strict rotation afterwards (${order})`);
  t.equal(log.length, 12, `2 burst + 2/s for 5 s (${log.length})`);
  enqueue(budget, clock, log, 'read_users', 'd', 1);
  const before = log.length;
  await clock.advance(2_000);
  const dAt = log.findIndex((g) => g.key === 'd');
  t.ok(dAt >= before && dAt - before <= 3, 'a newcomer waits at most one turn of the rotation');
});

t.test('enterprise: the global bucket (50 / 16 rps) is drawn before the endpoint bucket', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'read_users', 't', 100);
  await flush();
  t.equal(log.length, 50, 'global burst');
  await clock.advance(1_000);
  t.ok(log.length >= 65 && log.length <= 67, `then 16 per second (${log.length})`);
  const snap = budget.snapshot();
  t.equal(snap.buckets.find((b) => b.bucket === 'read_users')?.limit, 50, 'read users reports the global bucket');
  t.equal(snap.waitingByKey['t'], 100 - log.length);
  // An endpoint with its own bucket is limited by it even while global tokens remain.
  const clock2 = new FakeClock();
  const b2 = new RateBudget({ plan: 'enterprise', clock: clock2 });
  const log2: { key: string; at: number }[] = [];
  enqueue(b2, clock2, log2, 'write_orgs', 't', 10);
  await flush();
  t.equal(log2.length, 5, 'write orgs burst is 5');
});

t.test('essentials: unlisted endpoints share "all other endpoints" (10 / 150 per min)', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'essentials', clock });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'other', 't', 6);
  enqueue(budget, clock, log, 'read_user_orgs', 't', 6);
  enqueue(budget, clock, log, 'org_invitations', 't', 6);
  enqueue(budget, clock, log, 'read_users', 't', 6);
  await flush();
  t.equal(log.length, 16, '10 shared + 6 read-users from its own bucket');
  t.same(budget.snapshot().buckets.map((b) => b.bucket).sort(), ['other', 'read_users']);
});

t.test('observe: remaining caps the local count; a 429 pauses the lane until x-ratelimit-reset', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock });
  await budget.acquire('write_org_members', 't');
  budget.observe('write_org_members', headers({ 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '0' }), 204);
  t.equal(budget.snapshot().buckets[0]?.remaining, 3, 'another replica spent the rest: we believe Auth0');
  budget.observe('write_org_members', headers({ 'x-ratelimit-remaining': '15' }), 204);
  t.equal(budget.snapshot().buckets[0]?.remaining, 3, 'a higher remaining never inflates our count');

  const resetSec = Math.ceil(clock.time / 1000) + 5;
  budget.observe('write_org_members', headers({ 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetSec) }), 429);
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'write_org_members', 't', 1);
  enqueue(budget, clock, log, 'read_users', 'u', 1);
  await flush();
  t.same(log.map((g) => g.key), ['u'], 'only the paused lane waits');
  t.equal(budget.snapshot().buckets[0]?.pausedUntil, resetSec * 1000);
  await clock.advance(resetSec * 1000 - clock.time - 1);
  t.equal(log.length, 1, 'still paused 1 ms before reset');
  await clock.advance(1);
  t.equal(log.length, 2, 'granted at reset');
  t.equal(budget.snapshot().throttled, 1);
});

t.test('a 429 without headers pauses for a second; plan "off" only pauses on 429', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'off', clock });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'read_users', 't', 500);
  await flush();
  t.equal(log.length, 500, 'unlimited');
  budget.observe('read_users', undefined, 429);
  enqueue(budget, clock, log, 'read_users', 't', 1);
  await clock.advance(999);
  t.equal(log.length, 500);
  await clock.advance(1);
  t.equal(log.length, 501);
  t.equal(clock.pending, 0, 'no timer left armed when nobody waits');
});

t.test('SCIM: 25 rps per connection, 100 rps tenant-wide; a stale reset never pauses past 60 s', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'scim', 't', 30, 'con_1');
  enqueue(budget, clock, log, 'scim', 't', 30, 'con_2');
  await flush();
  t.equal(log.length, 50, '25 per connection');
  for (let c = 3; c <= 8; c++) enqueue(budget, clock, log, 'scim', 't', 25, `con_${c}`);
  await flush();
  t.equal(log.length, 100, 'tenant-wide 100');
  budget.observe('scim', headers({ 'x-ratelimit-reset': String(Math.ceil(clock.time / 1000) + 3600) }), 429, 'con_9');
  const paused = budget.snapshot().buckets.find((b) => b.scope === 'con_9');
  t.equal(paused?.pausedUntil, clock.time + 60_000);
});

t.test('rate overrides model non-production Enterprise (10 / 2 rps)', async (t) => {
  const clock = new FakeClock();
  const budget = new RateBudget({ plan: 'enterprise', clock, rates: { global: { burst: 10, perSecond: 2 } } });
  const log: { key: string; at: number }[] = [];
  enqueue(budget, clock, log, 'read_users', 't', 20);
  await clock.advance(1_000);
  t.equal(log.length, 12);
});
