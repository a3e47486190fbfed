import t from 'tap';
import { pino } from 'pino';
import { OktaMirrorWorker } from '../../src/okta/mirror-worker.js';
import type { OktaQueue } from '../../src/okta/queue.js';

/** A queue that only counts how often the worker asks it for jobs (and never has any). */
function countingQueue() {
  const counts = { fetches: 0 };
  const queue = { retryLimit: 1, fetch: async () => { counts.fetches++; return []; } } as unknown as OktaQueue;
  return { queue, counts };
}

t.test('while no tenant binds Okta the lane does not poll its queue; once one does, it polls', async (t) => {
  let bound = false;
  let asked = 0;
  const { queue, counts } = countingQueue();
  const worker = new OktaMirrorWorker({
    db: undefined as never, queue, logger: pino({ level: 'silent' }), mirror: async () => { throw new Error('no job expected'); },
    concurrency: 2, tenantConcurrency: 1, pollMs: 20, unboundPollMs: 200,
    anyBinding: async () => { asked++; return bound; },
  });
  worker.start();
  t.teardown(() => worker.stop());
  await new Promise((r) => setTimeout(r, 500));
  t.equal(counts.fetches, 0, 'no queue poll without a binding');
  t.ok(asked >= 2 && asked <= 4, `asked for a binding every unboundPollMs (${asked} times in 0.5 s)`);
  bound = true;
  await new Promise((r) => setTimeout(r, 500));
  t.ok(counts.fetches >= 5, `polls the queue once a tenant binds Okta (${counts.fetches} fetches)`);
});
