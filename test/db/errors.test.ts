import t from 'tap';
import { isDatabaseUnavailable, isUniqueViolation, OutageLog } from '../../src/db/errors.js';

t.test('isDatabaseUnavailable: refused, reset, timed out, shutting down, too many connections', async (t) => {
  const unavailable: unknown[] = [
    Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    Object.assign(new Error('connection failure'), { code: '08006' }),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }),
    new Error('timeout exceeded when trying to connect'),
    new Error('Query read timeout'),
    new Error('Client has encountered a connection error and is not queryable'),
    // Node reports a refused dual-stack connect as an AggregateError; wrappers keep the cause.
    new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], ''),
    new Error('migration failed', { cause: Object.assign(new Error('x'), { code: '57P01' }) }),
    // pg-boss re-emits errors as plain objects
    { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
  ];
  for (const err of unavailable) t.ok(isDatabaseUnavailable(err), String((err as Error).message || (err as Error).name));
});

t.test('isDatabaseUnavailable: statement errors are not outages', async (t) => {
  const statementErrors: unknown[] = [
    Object.assign(new Error('duplicate key value'), { code: '23505' }),
    Object.assign(new Error('syntax error'), { code: '42601' }),
    Object.assign(new Error('invalid byte sequence'), { code: '22021' }),
    Object.assign(new Error('could not serialize access'), { code: '40001' }),
    // Class 08, but a message of ours the server refused: a bug to see as a 500, not an outage.
    Object.assign(new Error('bind message supplies 4 parameters, but prepared statement "provisio_3" requires 3'), { code: '08P01' }),
    new Error('something else'),
    'ECONNREFUSED',
    null,
    undefined,
  ];
  for (const err of statementErrors) t.notOk(isDatabaseUnavailable(err), String(err));
  t.ok(isUniqueViolation({ code: '23505' }));
});

t.test('OutageLog: one warning per interval, with the count of failures it stands for', async (t) => {
  let now = 0;
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = { warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
  const outage = new OutageLog(30_000, () => now);
  const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  for (let i = 0; i < 100; i++) outage.report(log, err, 'requests answer 503');
  t.equal(lines.length, 1);
  t.match(lines[0], { obj: { reason: 'ECONNREFUSED connect ECONNREFUSED', failuresSinceLastWarning: 0 }, msg: 'database unavailable: requests answer 503' });
  now = 30_000;
  outage.report(log, err, 'requests answer 503');
  t.equal(lines.length, 2);
  t.equal(lines[1]!.obj.failuresSinceLastWarning, 99);
});
