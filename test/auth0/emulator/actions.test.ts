import t from 'tap';
import { checkResponses, managementError as error, startHarness } from './harness.js';

const h = await startHarness();
t.teardown(() => h.close());

const POST_LOGIN = [{ id: 'post-login' as const, version: 'v3' }];

t.test('create, get, list with filters, update, deploy; secrets come back without their values', async (t) => {
  const created = await h.mgmt.actions.create({
    name: 'provisio-post-login', supported_triggers: POST_LOGIN, runtime: 'node22', code: 'exports.onExecutePostLogin = async () => {};',
    secrets: [{ name: 'PROVISIO_URL', value: 'https://provisio.example.com' }, { name: 'PROVISIO_SECRET', value: 's'.repeat(40) }],
  });
  t.match(created, { name: 'provisio-post-login', runtime: 'node22', all_changes_deployed: false, status: 'built' });
  t.notOk(created.deployed_version, 'not deployed yet');
  t.same(created.secrets?.map((s) => Object.keys(s).sort()), [['name', 'updated_at'], ['name', 'updated_at']], 'names and updated_at only');
  t.notMatch(JSON.stringify(created), /provisio\.example\.com/);
  const id = created.id ?? '';
  t.match(id, /^[0-9a-f-]{36}$/);

  const dup = await error(h.mgmt.actions.create({ name: 'provisio-post-login', supported_triggers: POST_LOGIN }));
  t.equal(dup.statusCode, 409, 'a taken name');
  t.equal((await error(h.mgmt.actions.create({ name: 'x', supported_triggers: [] }))).statusCode, 400, 'no trigger');
  t.equal((await error(h.mgmt.actions.create({ name: 'x', supported_triggers: POST_LOGIN, runtime: 'node8' }))).statusCode, 400, 'unknown runtime');
  t.equal((await error(h.mgmt.actions.create({ name: 'x' } as never))).statusCode, 400, 'schema: supported_triggers is required');
  t.equal((await error(h.mgmt.actions.create({ name: 'x', supported_triggers: POST_LOGIN, secrets: [{ name: 'NO_VALUE' }] }))).statusCode, 400, 'a new secret needs a value');

  await h.mgmt.actions.create({ name: 'other-trigger', supported_triggers: [{ id: 'post-user-registration', version: 'v2' }] });
  t.same((await h.mgmt.actions.list({ actionName: 'provisio-post-login' })).data.map((a) => a.id), [id]);
  t.same((await h.mgmt.actions.list({ triggerId: 'post-user-registration' })).data.map((a) => a.name), ['other-trigger']);
  t.same((await h.mgmt.actions.list({ deployed: true })).data, [], 'nothing deployed');
  const token = await h.token();
  const paged = await h.request('GET', '/api/v2/actions/actions?per_page=1&page=1', { token });
  t.match(paged.body, { total: 2, page: 1, per_page: 1, actions: [{ name: 'other-trigger' }] });

  const version = await h.mgmt.actions.deploy(id);
  t.match(version, { action_id: id, number: 1, deployed: true, status: 'built', runtime: 'node22' });
  t.same(version.secrets?.map((s) => s.name), ['PROVISIO_URL', 'PROVISIO_SECRET']);
  const deployed = await h.mgmt.actions.get(id);
  t.match(deployed, { all_changes_deployed: true, deployed_version: { id: version.id, number: 1 } });
  t.same((await h.mgmt.actions.list({ deployed: true })).data.map((a) => a.id), [id]);

  const updatedAt = deployed.secrets?.find((s) => s.name === 'PROVISIO_SECRET')?.updated_at;
  const patched = await h.mgmt.actions.update(id, {
    code: 'exports.onExecutePostLogin = async () => { /* v2 */ };',
    secrets: [{ name: 'PROVISIO_URL', value: 'https://new.example.com' }, { name: 'PROVISIO_SECRET' }],
  });
  t.match(patched, { all_changes_deployed: false, deployed_version: { id: version.id } }, 'a PATCH leaves the deployed version running');
  t.equal(patched.secrets?.find((s) => s.name === 'PROVISIO_SECRET')?.updated_at, updatedAt, 'a secret sent without value keeps its value');
  const stored = h.emu.emulator.state.action(id);
  t.same(stored.secrets.map((s) => [s.name, s.value]), [['PROVISIO_URL', 'https://new.example.com'], ['PROVISIO_SECRET', 's'.repeat(40)]]);
  t.equal((await h.mgmt.actions.deploy(id)).number, 2);
  t.equal((await error(h.mgmt.actions.update(id, { name: 'other-trigger' }))).statusCode, 409, 'renaming onto a taken name');
  t.equal((await error(h.mgmt.actions.get('00000000-0000-4000-8000-000000000000'))).statusCode, 404);
  t.equal((await error(h.mgmt.actions.deploy('00000000-0000-4000-8000-000000000000'))).statusCode, 404);
  t.equal((await error(h.mgmt.actions.update('00000000-0000-4000-8000-000000000000', { code: '' }))).statusCode, 404);
});

t.test('trigger bindings: replace the list, refs by id and name, order kept; delete needs force while bound', async (t) => {
  const a = await h.mgmt.actions.create({ name: 'first', supported_triggers: POST_LOGIN, code: '', deploy: true });
  const b = await h.mgmt.actions.create({ name: 'second', supported_triggers: POST_LOGIN, code: '' });
  const undeployed = await error(h.mgmt.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_name', value: 'second' } }] }));
  t.equal(undeployed.statusCode, 400, 'an undeployed action cannot be bound');
  await h.mgmt.actions.deploy(b.id ?? '');
  const wrongTrigger = await error(h.mgmt.actions.triggers.bindings.updateMany('post-change-password', { bindings: [{ ref: { type: 'action_id', value: a.id ?? '' } }] }));
  t.equal(wrongTrigger.statusCode, 400, 'the action must support the trigger');
  const unknown = await error(h.mgmt.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_name', value: 'nope' } }] }));
  t.equal(unknown.statusCode, 400);

  const set = await h.mgmt.actions.triggers.bindings.updateMany('post-login', {
    bindings: [{ ref: { type: 'action_id', value: a.id ?? '' } }, { ref: { type: 'action_name', value: 'second' }, display_name: 'Second one' }],
  });
  t.same(set.bindings?.map((x) => [x.action?.name, x.display_name, x.trigger_id]), [['first', 'first', 'post-login'], ['second', 'Second one', 'post-login']]);
  const firstBinding = set.bindings?.[0]?.id ?? '';
  const listed = await h.mgmt.actions.triggers.bindings.list('post-login');
  t.same(listed.data.map((x) => x.action?.name), ['first', 'second']);
  const token = await h.token();
  t.match((await h.request('GET', '/api/v2/actions/triggers/post-login/bindings', { token })).body, { total: 2, page: 0, bindings: [{}, {}] });

  const reordered = await h.mgmt.actions.triggers.bindings.updateMany('post-login', {
    bindings: [{ ref: { type: 'action_name', value: 'second' } }, { ref: { type: 'binding_id', value: firstBinding } }],
  });
  t.same(reordered.bindings?.map((x) => x.action?.name), ['second', 'first']);
  t.equal(reordered.bindings?.[1]?.id, firstBinding, 'a kept binding keeps its id');
  t.equal(reordered.bindings?.[0]?.display_name, 'Second one', 'and its display name');

  t.equal((await error(h.mgmt.actions.delete(a.id ?? ''))).statusCode, 400, 'bound: not deleted');
  await h.mgmt.actions.delete(a.id ?? '', { force: true });
  t.same((await h.mgmt.actions.triggers.bindings.list('post-login')).data.map((x) => x.action?.name), ['second'], 'force detaches the binding');
  await h.mgmt.actions.triggers.bindings.updateMany('post-login', { bindings: [] });
  await h.mgmt.actions.delete(b.id ?? '');
  t.equal((await error(h.mgmt.actions.get(b.id ?? ''))).statusCode, 404);
});

t.test('a draft still building cannot be deployed yet', async (t) => {
  h.emu.emulator.settings.actionBuildMs = 60_000;
  t.teardown(() => { h.emu.emulator.settings.actionBuildMs = 0; });
  const a = await h.mgmt.actions.create({ name: 'slow-build', supported_triggers: POST_LOGIN, code: '' });
  t.equal(a.status, 'building');
  const early = await error(h.mgmt.actions.deploy(a.id ?? ''));
  t.equal(early.statusCode, 400);
  t.match(early.body, { message: /must be in the 'built' state/ });
});

t.test('scopes: read, create (also deploy), update (also bindings), delete', async (t) => {
  const readOnly = h.emu.emulator.createClient({ scopes: ['read:actions'] });
  const client = h.client({ ...readOnly, maxRetries: 0 });
  t.ok(await client.actions.list());
  const denied = await error(client.actions.create({ name: 'nope', supported_triggers: POST_LOGIN }));
  t.equal(denied.statusCode, 403);
  t.match(denied.body, { errorCode: 'insufficient_scope', message: /create:actions/ });
  t.equal((await error(client.actions.triggers.bindings.updateMany('post-login', { bindings: [] }))).statusCode, 403);
  t.match((await error(client.actions.update('00000000-0000-4000-8000-000000000000', {}))).body, { message: /update:actions/ }, 'the scope is checked before the id');
});

t.test('state: actions and bindings in the snapshot, with secret values; reset empties them; the call log hides values', async (t) => {
  const a = await h.mgmt.actions.create({ name: 'snap', supported_triggers: POST_LOGIN, code: '', secrets: [{ name: 'K', value: 'hidden-value' }], deploy: true });
  await h.mgmt.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: a.id ?? '' } }] });
  const base = h.emu.baseUrl;
  const snapshot = (await (await fetch(`${base}/__emulator/state`)).json()) as { actions: { name: string; secrets: { value: string }[] }[]; trigger_bindings: { action_id: string }[] };
  t.equal(snapshot.actions.find((x) => x.name === 'snap')?.secrets[0]?.value, 'hidden-value', 'the inspection API shows what the tenant holds');
  t.same(snapshot.trigger_bindings.map((x) => x.action_id), [a.id]);
  const calls = h.emu.emulator.callLog({ operation: 'POST /actions/actions' });
  t.notMatch(JSON.stringify(calls), /hidden-value/);
  t.match(JSON.stringify(calls), /"name":"K"/);

  const put = await fetch(`${base}/__emulator/state`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...snapshot, actions: [], trigger_bindings: [] }) });
  t.equal(put.status, 204);
  t.equal(h.emu.emulator.state.actions.size, 0);
  h.emu.emulator.restore(snapshot as never);
  t.equal(h.emu.emulator.state.bindingsOf('post-login').length, 1, 'restored');
  h.emu.emulator.reset();
  t.equal(h.emu.emulator.state.actions.size, 0);
  t.same(h.emu.emulator.state.triggerBindings, []);
});

t.test('every response body matches the OpenAPI spec', async (t) => {
  t.ok(checkResponses(t, h) > 30);
});
