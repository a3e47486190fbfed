/**
 * Auth0 runs action/post-login.js as a CommonJS module (`exports.onExecutePostLogin`, `require('node:crypto')`),
 * while the repository is `"type": "module"`: action/package.json makes the folder CommonJS again, so the file
 * loads with `require` from a checkout exactly as it is deployed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('require() of action/post-login.js gives the Post-Login handler', async (t) => {
  const action: unknown = createRequire(import.meta.url)('../../action/post-login.js');
  t.type(action, 'object');
  t.same(Object.keys(action as object), ['onExecutePostLogin'], 'what Auth0 calls, and nothing else');
  t.type((action as { onExecutePostLogin: unknown }).onExecutePostLogin, 'function');
});

t.test('plain node (no TypeScript loader) requires it too', async (t) => {
  const run = spawnSync(process.execPath, ['-e', "const a = require('./action/post-login.js'); process.stdout.write(typeof a.onExecutePostLogin)"], { cwd: root, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stdout, 'function');
  t.same(JSON.parse(readFileSync(new URL('../../action/package.json', import.meta.url), 'utf8')), { type: 'commonjs' });
});
