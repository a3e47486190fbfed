import t from 'tap';
import { ActionDeployError, checkDeployInput, deployedActionCode, deployPostLoginAction, POST_LOGIN_ACTION_NAME, readPostLoginActionCode, type PostLoginActionInput } from '../../src/auth0/action-deploy.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { RateBudget } from '../../src/auth0/rate-budget.js';

const emu = await startAuth0Emulator({ plan: 'off' });
t.teardown(() => emu.close());
const newClient = () => createManagementClient({ domain: emu.domain, ...emu.client, baseUrl: emu.baseUrl, plan: 'enterprise' });
// A new client per test: a reset forgets the tokens the emulator issued.
let client = newClient();
const code = await readPostLoginActionCode();
const input: PostLoginActionInput = { code, provisioUrl: 'https://provisio.example.com/', actionSecret: 'a-secret-of-at-least-thirty-two-characters' };

t.beforeEach(() => {
  emu.emulator.reset();
  client = newClient();
  emu.emulator.setClock(Date.now);
  emu.emulator.settings.actionBuildMs = 0;
});

async function bindByHand(actionIds: string[]): Promise<void> {
  await client.actions.triggers.bindings.updateMany('post-login', { bindings: actionIds.map((value) => ({ ref: { type: 'action_id', value } })) });
}

t.test('input: https unless localhost, no query or credentials, fail mode, timeout, secret length', async (t) => {
  t.match(checkDeployInput(input), { provisioUrl: 'https://provisio.example.com', failMode: 'closed', timeoutMs: 5000 });
  t.equal(checkDeployInput({ ...input, provisioUrl: 'https://example.com/provisio/' }).provisioUrl, 'https://example.com/provisio', 'a path prefix is kept');
  for (const url of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080']) t.doesNotThrow(() => checkDeployInput({ ...input, provisioUrl: url }), url);
  const refused: [Partial<PostLoginActionInput>, RegExp][] = [
    [{ provisioUrl: 'http://provisio.example.com' }, /https/],
    [{ provisioUrl: 'provisio.example.com' }, /not a URL/],
    [{ provisioUrl: 'https://u:p@provisio.example.com' }, /credentials/],
    [{ provisioUrl: 'https://provisio.example.com/?x=1' }, /query/],
    [{ failMode: 'maybe' as never }, /closed or open/],
    [{ timeoutMs: 20_000 }, /timeout/],
    [{ actionSecret: 'short' }, /PROVISIO_ACTION_SECRET/],
    [{ code: '  ' }, /empty/],
  ];
  for (const [change, message] of refused) {
    let thrown: unknown;
    try {
      checkDeployInput({ ...input, ...change });
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ActionDeployError && thrown.code === 'invalid_input', JSON.stringify(change));
    t.match((thrown as Error | undefined)?.message, message);
  }
});

t.test('the fingerprint line changes with any secret value, and only then', async (t) => {
  const base = deployedActionCode(checkDeployInput(input));
  t.ok(base.startsWith(code.trimEnd()), 'the source, unchanged, first');
  t.equal(deployedActionCode(checkDeployInput({ ...input, provisioUrl: 'https://provisio.example.com' })), base, 'a trailing slash is the same URL');
  for (const change of [{ failMode: 'open' as const }, { timeoutMs: 4000 }, { actionSecret: `${input.actionSecret}!` }, { provisioUrl: 'https://other.example.com' }, { code: `${code}\n// v2` }]) {
    t.not(deployedActionCode(checkDeployInput({ ...input, ...change })), base, JSON.stringify(change).slice(0, 40));
  }
});

t.test('a bound-twice Action is left bound once, in its first place; a dashboard edit is overwritten', async (t) => {
  const first = await deployPostLoginAction(client, input);
  const other = await client.actions.create({ name: 'other', supported_triggers: [{ id: 'post-login', version: 'v3' }], code: '', deploy: true });
  await bindByHand([first.actionId, other.id ?? '', first.actionId]);
  const again = await deployPostLoginAction(client, input);
  t.match(again, { action: 'unchanged', bound: 'already', bindings: ['other'] });
  t.same(emu.emulator.state.bindingsOf('post-login').map((b) => b.action_id), [first.actionId, other.id], 'ours once, where it was first');

  await client.actions.update(first.actionId, { code: 'exports.onExecutePostLogin = async () => {}; // edited in the dashboard' });
  const restored = await deployPostLoginAction(client, input);
  t.match(restored, { action: 'updated', deployed: true, versionNumber: 2 });
  t.equal(emu.emulator.state.action(first.actionId).code, deployedActionCode(checkDeployInput(input)));
});

t.test('our draft updated but never deployed (an interrupted run): deployed without a new update', async (t) => {
  const first = await deployPostLoginAction(client, input);
  const next = { ...input, failMode: 'open' as const };
  await client.actions.update(first.actionId, { code: deployedActionCode(checkDeployInput(next)), secrets: [
    { name: 'PROVISIO_URL', value: 'https://provisio.example.com' }, { name: 'PROVISIO_SECRET', value: input.actionSecret }, { name: 'FAIL_MODE', value: 'open' }, { name: 'TIMEOUT_MS', value: '5000' },
  ] });
  emu.emulator.clearCallLog();
  const resumed = await deployPostLoginAction(client, next, { budget: new RateBudget({ plan: 'enterprise' }) });
  t.match(resumed, { action: 'updated', deployed: true, versionNumber: 2 });
  t.same(emu.emulator.callLog().filter((c) => c.method !== 'GET' && c.operation !== 'POST /oauth/token').map((c) => c.operation), ['POST /actions/actions/{id}/deploy'], 'no PATCH');
});

t.test('deploying waits while Auth0 builds the draft, up to buildWaitMs', async (t) => {
  let now = Date.now();
  emu.emulator.setClock(() => now);
  emu.emulator.settings.actionBuildMs = 3500;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => { sleeps.push(ms); now += ms; };
  const result = await deployPostLoginAction(client, input, { sleep });
  t.match(result, { action: 'created', deployed: true });
  t.same(sleeps, [1000, 1000, 1000, 1000], 'polled every second until built');

  emu.emulator.settings.actionBuildMs = 10 * 60_000;
  await t.rejects(deployPostLoginAction(client, { ...input, failMode: 'open' }, { sleep: async () => {}, buildWaitMs: 0 }), { name: 'ActionDeployError', code: 'auth0_error', message: /built/ });
});

t.test('Auth0 failures become messages an operator can act on', async (t) => {
  const readOnly = emu.emulator.createClient({ scopes: ['read:actions'] });
  const limited = createManagementClient({ domain: emu.domain, ...readOnly, baseUrl: emu.baseUrl, plan: 'enterprise' });
  await t.rejects(deployPostLoginAction(limited, input), { code: 'missing_scope', scope: 'create:actions', message: /create:actions \(needed for POST \/actions\/actions\)/ });
  const wrong = createManagementClient({ domain: emu.domain, clientId: emu.client.clientId, clientSecret: 'wrong-secret', baseUrl: emu.baseUrl, plan: 'enterprise' });
  const refused = await deployPostLoginAction(wrong, input).catch((err: unknown) => err);
  t.match(refused, { code: 'unauthorized' });
  t.notMatch((refused as Error).message, /wrong-secret/);
  emu.emulator.injectFault('POST /actions/actions', { errorRate: 1, errorStatus: 503 });
  await t.rejects(deployPostLoginAction(client, input), { code: 'unavailable', message: /503/ });
  t.equal(POST_LOGIN_ACTION_NAME, 'provisio-post-login');
});
