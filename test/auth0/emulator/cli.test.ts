import t from 'tap';
import { Command } from 'commander';
import { ManagementClient } from 'auth0';
import { registerAuth0EmulatorCommand } from '../../../src/cli/auth0-emulator.js';
import type { RunningAuth0Emulator } from '../../../src/auth0/emulator/server.js';
import { redirectingFetch } from '../../../src/auth0/emulator/server.js';

t.test('auth0-emulator prints one JSON line whose credentials work with the SDK', async (t) => {
  const lines: string[] = [];
  let running: RunningAuth0Emulator | undefined;
  const program = new Command().exitOverride();
  registerAuth0EmulatorCommand(program, { out: (line) => lines.push(line), onStarted: (r) => { running = r; } });
  await program.parseAsync(['node', 'provisio', 'auth0-emulator', '--port', '0', '--plan', 'essentials']);
  t.teardown(() => running?.close());
  t.equal(lines.length, 1);
  const info = JSON.parse(lines[0] ?? '') as {
    baseUrl: string; domain: string; plan: string;
    client: { clientId: string; clientSecret: string };
    connections: { database: { id: string; name: string }; enterprise: { id: string; name: string; scim: { url: string; token: string } } };
  };
  t.match(info.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(info.plan, 'essentials');
  t.match(info.connections.database.id, /^con_[A-Za-z0-9]{16}$/);
  t.match(info.connections.enterprise.scim.url, /\/scim\/v2\/connections\/con_/);
  const sdk = new ManagementClient({ domain: info.domain, ...info.client, fetch: redirectingFetch(info.domain, info.baseUrl) });
  const connections = await sdk.connections.list();
  t.same(connections.data.map((c) => c.name).sort(), [info.connections.database.name, info.connections.enterprise.name].sort());
  const page = await sdk.roles.list();
  t.equal(page.rawResponse.headers.get('x-ratelimit-limit'), '10', 'essentials plan: "all other endpoints" burst 10');
});

t.test('rejects a bad plan', async (t) => {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerAuth0EmulatorCommand(program, { out: () => undefined });
  await t.rejects(program.parseAsync(['node', 'provisio', 'auth0-emulator', '--plan', 'gold']));
});
