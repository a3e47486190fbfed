import t from 'tap';
import { CALLS_KEPT_FIRST, CALLS_KEPT_LAST, CallTrace, sharedObserver } from '../../src/sync/call-trace.js';

t.test('a trace keeps the first 15 and the last 5 calls and counts the ones between', async (t) => {
  const trace = new CallTrace();
  for (let i = 0; i < 30; i++) trace.observer(`GET /users/{id}/page-${i}`, 200, 3);
  const { calls, omitted } = trace.seal();
  t.equal(calls.length, CALLS_KEPT_FIRST + CALLS_KEPT_LAST);
  t.equal(omitted, 10);
  t.same(calls.map((c) => Number(c.operation.split('-').at(-1))), [...Array.from({ length: 15 }, (_, i) => i), 25, 26, 27, 28, 29], 'where the run started and how it ended');
});

t.test('a short trace keeps every call, with the Management API prefix, status or failure, and timing', async (t) => {
  const trace = new CallTrace();
  trace.observer('PATCH /users/{id}', 429, 4.4);
  trace.observer('PATCH /users/{id}', 200, 7.6);
  trace.observer('GET /users-by-email', 'timeout', 1000);
  trace.observer('POST /scim/v2/connections/{id}/Users', 'network', 2);
  const { calls, omitted } = trace.seal();
  t.equal(omitted, 0);
  t.match(calls, [
    { operation: 'PATCH /api/v2/users/{id}', status: 429, failure: null, durationMs: 4, atMs: Number },
    { operation: 'PATCH /api/v2/users/{id}', status: 200, failure: null, durationMs: 8 },
    { operation: 'GET /api/v2/users-by-email', status: null, failure: 'timeout', durationMs: 1000 },
    { operation: 'POST /scim/v2/connections/{id}/Users', status: null, failure: 'network' },
  ], 'inbound SCIM keeps its own path');
  t.notOk('batchedUsers' in calls[0]!, 'a call for one user says nothing of batches');
});

t.test('calls after the seal (work a login\'s budget left running) are not added to what was recorded', async (t) => {
  const trace = new CallTrace();
  trace.observer('GET /users/{id}', 200, 1);
  const sealed = trace.seal();
  trace.observer('POST /organizations/{id}/members', 204, 1);
  t.equal(sealed.calls.length, 1);
  t.equal(trace.seal().calls.length, 1);
});

t.test('a request sent for several jobs is in each job\'s trace, saying for how many users', async (t) => {
  const [a, b] = [new CallTrace(), new CallTrace()];
  sharedObserver([a, b], 7)('POST /organizations/{id}/members', 204, 5);
  for (const trace of [a, b]) t.match(trace.seal().calls, [{ operation: 'POST /api/v2/organizations/{id}/members', status: 204, batchedUsers: 7 }]);
});
