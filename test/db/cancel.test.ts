import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import t from 'tap';
import { createUser, testApp } from '../helpers/app.js';
import { TEST_BACKEND } from '../helpers/db.js';

t.test('a list whose HTTP client went away has its statement cancelled, not run to the statement timeout', { skip: TEST_BACKEND === 'pglite' ? 'PostgreSQL only: PGlite runs in the process' : false }, async (t) => {
  const { app, database, scim } = await testApp(t);
  await createUser(scim, 'alice');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const { rows } = await sql<{ users: string }>`select 'users'::regclass::oid::text as users`.execute(database.db);
  const usersOid = rows[0]!.users;
  // Statements waiting for a lock on this test's users table (its own schema).
  const waiting = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where relation = ${usersOid}::oid and not granted`.execute(database.db)).rows[0]!.n);

  // An exclusive lock held by another transaction makes the list wait: a stand-in for an expensive filter.
  let releaseLock!: () => void;
  const held = new Promise<void>((resolve) => (releaseLock = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const locking = database.db.transaction().execute(async (trx) => {
    await sql`lock table users in access exclusive mode`.execute(trx);
    locked();
    await held;
  });
  await lockTaken;

  const client = new AbortController();
  const listing = fetch(`http://127.0.0.1:${port}/scim/v2/acme/Users?filter=userName%20sw%20%22a%22`, {
    headers: { authorization: `Bearer ${scim.token}` },
    signal: client.signal,
  }).catch((err: Error) => err.name);
  for (let i = 0; i < 50 && (await waiting()) === 0; i++) await sleep(20);
  t.equal(await waiting(), 1, 'the list statement is waiting in PostgreSQL');

  const abortedAt = Date.now();
  client.abort();
  t.equal(await listing, 'AbortError');
  for (let i = 0; i < 100 && (await waiting()) > 0; i++) await sleep(20);
  t.equal(await waiting(), 0, `the statement is gone ${Date.now() - abortedAt} ms after the client left (statement timeout: 30 s)`);

  releaseLock();
  await locking;
  const after = await scim.json('GET', '/Users?filter=userName%20sw%20%22a%22');
  t.equal(after.status, 200, 'the pool serves the next request');
  t.equal(after.body.totalResults, 1);
  await app.close();
});
