// The suites that run a second time against in-memory PGlite, the embedded default's engine: every suite that
// reaches the database through the single-connection pool `serve` uses without DATABASE_URL (SCIM, storage,
// the CLI's embedded-database paths — `serve`, `migrate`, the data directory's lock and control socket —,
// admin, login, the Action, the sync and the event outbox end to end). Suites that never reach storage or do
// not depend on its engine (HTTP timeouts, framework errors, SCIM discovery, input limits, throttling, the
// PATCH and filter parsers, the Auth0 emulator, the planner, the console in Chromium) run once, against
// PostgreSQL.
//
// test/compile.mjs writes, for each of them, `.test-build/with-pglite/<path>`: a module that selects PGlite
// and then imports the compiled suite. A path ending in `/` stands for every test file under it.
export const PGLITE_SUITES = [
  'test/scim/audit-trail.test.js',
  'test/scim/auth.test.js',
  'test/scim/bulk.test.js',
  'test/scim/cursor.test.js',
  'test/scim/errors.test.js',
  'test/scim/groups.test.js',
  'test/scim/idp-replay.test.js',
  'test/scim/list.test.js',
  'test/scim/patch-http.test.js',
  'test/scim/shapes.test.js',
  'test/scim/users.test.js',
  'test/scim/write-statements.test.js',
  'test/scim/sql/filter.test.js',
  'test/db/',
  'test/cli/serve.test.js',
  'test/cli/control-socket.test.js',
  'test/cli/migrate.test.js',
  'test/sync/end-to-end.test.js',
  'test/sync/lease.test.js',
  'test/admin/auth.test.js',
  'test/admin/scim-requests.test.js',
  'test/admin/sync-routes.test.js',
  'test/admin/tenants.test.js',
  'test/admin/user-actions.test.js',
  'test/login/post-login.test.js',
  'test/http/malformed-input.test.js',
  'test/events/outbox.test.js',
  'test/events/webhooks.test.js',
  'action/',
];

// Under a directory of the list, these never open a database: running them again would test nothing new.
export const NO_STORAGE = new Set(['test/db/errors.test.js', 'test/db/layering.test.js']);
