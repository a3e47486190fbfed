import t from 'tap';
import { sql } from 'kysely';
import pg from 'pg';
import { databaseReadiness } from '../../src/db/readiness.js';
import { TEST_BACKEND, testDatabase, testDatabaseUrl } from '../helpers/db.js';

t.test('/readyz says migrations pending until every known migration is recorded', async (t) => {
  const database = await testDatabase(t);
  t.equal(await databaseReadiness(database.db)(), 'ready');

  await sql`delete from kysely_migration where name = '0013-okta-mirror'`.execute(database.db);
  t.equal(await databaseReadiness(database.db)(), 'migrations pending', 'one migration not recorded');

  await sql`drop table kysely_migration`.execute(database.db);
  t.equal(await databaseReadiness(database.db)(), 'migrations pending', 'no bookkeeping table at all: nothing applied, not an unreachable database');
});

// CI saw `/readyz` answer 'database unreachable' while other test files dropped their schemas: the check
// used to introspect every table of every schema, and a table dropped meanwhile failed it.
t.test('/readyz stays ready while other schemas of the database are created and dropped', { skip: TEST_BACKEND !== 'postgres' && 'other sessions need a server' }, async (t) => {
  const database = await testDatabase(t);
  // In the checked database itself: the race was with other schemas of the same catalog.
  const churn = new pg.Client({ connectionString: testDatabaseUrl(database) });
  await churn.connect();
  t.teardown(() => churn.end());
  let stop = false;
  let dropped = 0;
  const churning = (async () => {
    for (let i = 0; !stop; i++) {
      const schema = `readiness_churn_${process.pid}_${i}`;
      await churn.query(`create schema ${schema}; create table ${schema}.a (id int, b text, c text); create table ${schema}.b (id int)`);
      await churn.query(`drop schema ${schema} cascade`);
      dropped++;
    }
  })();
  const answers = new Map<string, number>();
  try {
    while (dropped < 150) {
      // A fresh check each time: once a check has seen the migrations applied it only runs `select 1`.
      const answer = await databaseReadiness(database.db, 10_000)();
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
    }
  } finally {
    stop = true;
    await churning;
  }
  t.same([...answers.keys()], ['ready'], `every check answered ready while ${dropped} schemas were dropped: ${JSON.stringify(Object.fromEntries(answers))}`);
});
