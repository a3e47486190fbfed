import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { Command } from 'commander';
import okta from '@okta/okta-sdk-nodejs';
import { registerOktaEmulatorCommand } from '../../src/cli/okta-emulator.js';
import { CLI_ARGS, RUN_ROOT } from '../helpers/paths.js';
import type { RunningOktaEmulator } from '../../src/okta/emulator/server.js';

interface PrintedInfo {
  orgUrl: string;
  token: string;
  serviceApp: { clientId: string; privateKeyJwk: Record<string, unknown>; keyId: string; scopes: string[] };
  admin: string;
}

/** Runs the command in-process and returns the one line it printed, parsed. */
async function start(t: Test, args: string[]): Promise<PrintedInfo> {
  const lines: string[] = [];
  let running: RunningOktaEmulator | undefined;
  const program = new Command().exitOverride();
  registerOktaEmulatorCommand(program, { out: (line) => lines.push(line), onStarted: (r) => { running = r; } });
  await program.parseAsync(['node', 'provisio', 'okta-emulator', ...args]);
  t.teardown(() => running?.close());
  t.equal(lines.length, 1, 'one JSON line');
  return JSON.parse(lines[0] ?? '') as PrintedInfo;
}

// Options are explicit (authorizationMode included): the SDK would otherwise read ~/.okta/okta.yaml.
const base = (orgUrl: string) => ({ orgUrl, cacheMiddleware: null, requestExecutor: new okta.DefaultRequestExecutor({ maxRetries: 0, requestTimeout: 0 }) });

t.test('okta-emulator prints one JSON line whose credentials work with the SDK, both ways', async (t) => {
  const info = await start(t, ['--port', '0', '--rate-limits', 'users=600,user=600,groups=500']);
  t.match(info.orgUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(info.admin, `${info.orgUrl}/__emulator`);
  t.match(info.serviceApp.clientId, /^0oa[A-Za-z0-9]{17}$/);
  t.same(info.serviceApp.scopes, ['okta.users.manage', 'okta.users.read', 'okta.groups.manage', 'okta.groups.read']);
  t.equal(info.serviceApp.privateKeyJwk['kid'], info.serviceApp.keyId);

  const ssws = new okta.Client({ ...base(info.orgUrl), authorizationMode: 'SSWS', token: info.token });
  const user = await ssws.userApi.createUser({ body: { profile: { login: 'ada@example.com', email: 'ada@example.com' } } });

  const app = new okta.Client({
    ...base(info.orgUrl),
    authorizationMode: 'PrivateKey',
    clientId: info.serviceApp.clientId,
    scopes: info.serviceApp.scopes,
    privateKey: info.serviceApp.privateKeyJwk,
    keyId: info.serviceApp.keyId,
  });
  t.equal((await app.userApi.getUser({ userId: 'ada@example.com' })).id, user.id, 'the service app sees what the API token made');
  const group = await app.groupApi.createGroup({ group: { profile: { name: 'Engineering' } } });
  await app.groupApi.assignUserToGroup({ groupId: group.id ?? '', userId: user.id ?? '' });
  const names: unknown[] = [];
  for await (const g of await app.userApi.listUserGroups({ userId: user.id ?? '' })) names.push(g?.profile?.name);
  t.same(names, ['Everyone', 'Engineering']);

  const calls = (await (await fetch(`${info.admin}/calls?operation=PUT%20/api/v1/groups/%7BgroupId%7D/users/%7BuserId%7D`)).json()) as { client_id?: string; status: number }[];
  t.same(calls.map((c) => [c.status, c.client_id]), [[204, info.serviceApp.clientId]], 'the admin URL serves the call log');
  const limited = await fetch(`${info.orgUrl}/api/v1/groups`, { headers: { authorization: `SSWS ${info.token}` } });
  t.equal(limited.headers.get('x-rate-limit-limit'), '500', 'the groups budget is the one given');
});

t.test('rejects malformed rate limits', async (t) => {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerOktaEmulatorCommand(program, { out: () => undefined });
  await t.rejects(program.parseAsync(['node', 'provisio', 'okta-emulator', '--rate-limits', 'apps=10']));
  await t.rejects(program.parseAsync(['node', 'provisio', 'okta-emulator', '--rate-limits', 'users=many']));
});

t.test('`provisio okta-emulator` runs standalone and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [...CLI_ARGS, 'okta-emulator', '--port', '0'], {
    cwd: RUN_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    void exited.then((code) => reject(new Error(`okta-emulator exited with ${code}: ${text}`)));
  });
  const info = JSON.parse(line) as PrintedInfo;
  const ssws = new okta.Client({ ...base(info.orgUrl), authorizationMode: 'SSWS', token: info.token });
  const names: unknown[] = [];
  for await (const g of await ssws.groupApi.listGroups()) names.push(g?.profile?.name);
  t.same(names, ['Everyone']);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean exit');
});
