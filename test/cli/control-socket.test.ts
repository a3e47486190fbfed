import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { forwardToServer } from '../../src/cli/control-socket.js';
import { openDatabase } from '../../src/db/client.js';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/io.js';
import { freePort, runProvisio } from '../helpers/cli.js';
import { TEST_BACKEND } from '../helpers/db.js';
import { CLI_ARGS, RUN_ROOT } from '../helpers/paths.js';

async function serve(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: RUN_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', SYNC_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (/Demo tenant/.test(text)) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
  });
  return child;
}

t.test('with PGlite, a second process on the same data directory is refused with a clear message', { skip: TEST_BACKEND !== 'pglite' && 'PGlite only' }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'provisio-lock-'));
  const holder = await openDatabase({ dataDir: dir });
  t.teardown(() => holder.close());
  const res = await runProvisio({ DATA_DIR: dir, LOG_LEVEL: 'silent' }, 'tenant', 'list');
  t.equal(res.code, 1);
  t.match(res.err, /in use by another process/);
});

t.test('with PGlite, CLI commands run by the server that holds the data directory', { skip: TEST_BACKEND !== 'pglite' && 'PGlite only', timeout: 90_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'provisio-ctl-'));
  // A socket file left by a server that was killed does not stop the next one.
  writeFileSync(path.join(dataDir, 'provisio.sock'), '');
  const port = await freePort();
  const server = await serve({ DATA_DIR: dataDir, PORT: String(port) });
  t.teardown(() => { server.kill('SIGKILL'); });
  t.equal(statSync(path.join(dataDir, 'provisio.sock')).mode & 0o777, 0o600, 'only the owner of the data may use the socket');

  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const created = await runProvisio(env, 'tenant', 'create', 'acme', '--json');
  t.equal(created.code, 0, created.err);
  const { token, scimBaseUrl } = JSON.parse(created.out) as { token: string; scimBaseUrl: string };
  t.match(scimBaseUrl, `http://localhost:${port}/scim/v2/acme`, 'printed with the server\'s configuration');
  const res = await fetch(`http://127.0.0.1:${port}/scim/v2/acme/Users`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(res.status, 200, 'the tenant and token made through the socket work on the running server');

  const listed = await runProvisio(env, 'tenant', 'list', '--json');
  t.ok((JSON.parse(listed.out) as { name: string }[]).some((row) => row.name === 'acme'));

  const missing = await runProvisio(env, 'tenant', 'show', 'nobody');
  t.not(missing.code, 0, 'a failing command keeps its exit code');
  t.match(missing.err, /nobody/);

  const second = await runProvisio(env, 'serve');
  t.equal(second.code, 1, 'a second server on the same directory is refused at once');
  t.match(second.err, /a Provisio server is already running on/);

  let refused = '';
  const forwardedServe = await forwardToServer(dataDir, ['serve'], { env, out: () => undefined, err: (s) => { refused += s; } });
  t.equal(forwardedServe, 1, 'and `serve` is never run inside the server');
  t.match(refused, /cannot run while a server holds this data directory/);

  // Relative paths in arguments are the caller's, not the server's.
  const here = mkdtempSync(path.join(tmpdir(), 'provisio-ctl-cwd-'));
  writeFileSync(path.join(here, 'binding.json'), '{ not json');
  let err = '';
  const io: CliIo = { env, cwd: here, out: () => undefined, err: (s) => { err += s; } };
  t.equal(await runCli(['tenant', 'bind', 'acme', '--file', 'binding.json'], io), 2);
  t.match(err, /cannot read binding\.json: .*JSON/, 'the file was found in the caller\'s directory');

  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  const after = await runProvisio(env, 'tenant', 'list', '--json');
  t.equal(after.code, 0, 'with the server stopped the CLI opens the database itself');
  t.ok((JSON.parse(after.out) as { name: string }[]).some((row) => row.name === 'acme'), 'and finds what was made through the server');
});
