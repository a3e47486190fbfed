/**
 * The web console in a real browser (Debian's Chromium through playwright-core): the customer's setup-link
 * journey, an expired link, a delegated session reaching for another tenant, and the operator's pages.
 * Every page is checked with axe-core (no serious or critical violation) and photographed into
 * test-artifacts/console/.
 */
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { createSetupLink, createSignInCode, signInUrl } from '../../src/admin/setup-links.js';
import { createTenant } from '../../src/admin/tenants.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { browserMissing, launchBrowser, newPage, screenshot, seriousA11yViolations } from '../helpers/browser.js';
import { scimUser, setActive, syncHarness, type SyncHarness } from '../helpers/sync.js';

const missing = browserMissing();
if (missing) {
  console.error(`\n!!! SKIPPING the console's browser tests: ${missing}\n`);
  t.plan(0, missing);
}

const WAIT = { timeout: 20_000 };

async function listen(h: SyncHarness): Promise<string> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

async function accessible(t: Test, page: Page, what: string): Promise<void> {
  const violations = await seriousA11yViolations(page);
  t.same(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`), [], `${what}: no serious accessibility violation`);
}

async function createRoles(h: SyncHarness, ...names: string[]): Promise<void> {
  const client = createManagementClient({ domain: h.emulator.domain, clientId: h.emulator.client.clientId, clientSecret: h.emulator.client.clientSecret, baseUrl: h.emulator.baseUrl, plan: 'enterprise' });
  for (const name of names) await client.roles.create({ name });
}

const RULES = { rules: [{ id: 'admins', match: { by: 'displayName', value: 'Admins' }, grant: { orgRoles: ['admin'], tenantRoles: [], organizations: [] } }] };

t.test('setup link: choose Okta, generate the token, watch two users arrive and sync', async (t) => {
  const h = await syncHarness(t);
  await createRoles(h, 'admin');
  await h.bind(undefined, RULES);
  const origin = await listen(h);
  const link = await createSetupLink(h.database.db, origin, { id: h.tenantId, name: 'acme' });
  const browser = await launchBrowser(t);
  const { page, problems } = await newPage(browser);

  await page.goto(link.url);
  await page.getByRole('heading', { name: 'Step 1: which identity provider does your company use?' }).waitFor(WAIT);
  t.equal(new URL(page.url()).hash, '', 'the secret leaves the address bar at once');
  await screenshot(page, '01-setup-choose-idp');
  await accessible(t, page, 'step 1');

  await page.getByRole('button', { name: /Google Workspace/ }).click();
  await page.getByText('Google Workspace is not supported yet.').waitFor(WAIT);
  t.pass('Google Workspace says it is not supported');
  await page.getByRole('button', { name: '1. Choose your identity provider' }).click();
  await page.getByRole('button', { name: /^Okta/ }).click();
  const baseUrl = page.getByLabel('SCIM connector base URL', { exact: true });
  t.equal(await baseUrl.inputValue(), `${origin}/scim/v2/acme`, 'the SCIM base URL to paste');
  await page.getByRole('button', { name: 'Generate token' }).click();
  const header = page.getByLabel('Authorization (HTTP Header)', { exact: true });
  await header.waitFor(WAIT);
  const headerValue = await header.inputValue();
  t.match(headerValue, /^Bearer prv_[A-Za-z0-9_-]{43}$/, 'the token, ready for Okta\'s header field');
  await screenshot(page, '02-setup-okta-values');
  await accessible(t, page, 'step 2 (Okta)');

  await page.getByRole('button', { name: 'Next: test the connection' }).click();
  await page.getByText('No requests yet. Waiting for your identity provider…').waitFor(WAIT);

  // The IdP, over real HTTP with the token generated in the page.
  const push = (body: unknown, authorization = headerValue) => fetch(`${origin}/scim/v2/acme/Users`, { method: 'POST', headers: { authorization, 'content-type': 'application/scim+json' }, body: JSON.stringify(body) });
  const schemas = ['urn:ietf:params:scim:schemas:core:2.0:User'];
  t.equal((await push({ schemas, displayName: 'No user name' })).status, 400);
  t.equal((await push({ schemas, userName: 'x@acme.test' }, 'prv_wrong')).status, 401);
  for (const name of ['ada', 'grace']) {
    t.equal((await push({ schemas, userName: `${name}@acme.test`, emails: [{ value: `${name}@acme.test`, primary: true }], password: 'not-kept' })).status, 201);
  }
  await page.getByText('2 users and 0 groups received, 2 synced to Auth0.').waitFor(WAIT);
  t.pass('the summary counts what arrived and what reached Auth0');
  const rows = page.locator('table.requests tbody tr');
  await rows.nth(3).waitFor(WAIT);
  t.equal(await rows.count(), 4, 'every request is listed');
  t.match(await rows.nth(0).innerText(), /POST \/scim\/v2\/acme\/Users[\s\S]*userName=grace@acme\.test[\s\S]*201/, 'newest first, with a summary of the body');
  t.notMatch(await page.locator('table.requests').innerText(), /not-kept/, 'a password never reaches the page');
  t.match(await page.locator('tr[data-status="400"]').innerText(), /"userName" is required[\s\S]*attribute mapping sends no userName/, 'a refusal with its detail and a hint');
  t.match(await page.locator('tr[data-status="401"]').innerText(), /Wrong or missing token/);
  await screenshot(page, '03-setup-live-panel');
  await accessible(t, page, 'step 3 (live panel)');

  await page.getByRole('button', { name: 'Users and sync' }).click();
  await page.getByRole('cell', { name: 'grace@acme.test' }).waitFor(WAIT);
  t.equal(await page.locator('table.users .sync.synced').count(), 2, 'both users show as synced');
  await screenshot(page, '04-setup-users');
  await accessible(t, page, 'users');

  await page.getByRole('button', { name: 'Roles' }).click();
  await page.getByLabel('Preview: a user in these groups (comma-separated)').fill('Admins, Staff');
  await page.getByText('org role admin ← rule admins').waitFor(WAIT);
  t.pass('the rules preview explains which rule gives which role');
  await screenshot(page, '05-setup-roles-preview');
  await accessible(t, page, 'roles');

  // A delegated session reaching for another tenant, through the page and through the API.
  await createTenant(h.database.db, { name: 'globex' });
  const status = await page.evaluate(async () => {
    // Runs in the page: its sessionStorage holds the link's credential.
    const storage = (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage;
    const session = JSON.parse(storage.getItem('provisio.console.session') ?? '{}') as { token: string };
    const res = await fetch('/v1/admin/tenants/globex/users', { headers: { authorization: `Bearer ${session.token}` } });
    return res.status;
  });
  t.equal(status, 403, 'the API refuses another tenant');
  await page.goto(`${origin}/console/tenants/globex`);
  await page.getByText('This credential is scoped to tenant "acme"').waitFor(WAIT);
  t.pass('the operator page of another tenant says the session is scoped');
  await screenshot(page, '06-setup-other-tenant-refused');
  t.same(problems, [], 'no script error, console error or CSP violation');
});

t.test('an expired setup link says so and offers what to do', async (t) => {
  const h = await syncHarness(t);
  const origin = await listen(h);
  const link = await createSetupLink(h.database.db, origin, { id: h.tenantId, name: 'acme' }, { expiresIn: '1m' });
  await h.database.db.updateTable('admin_tokens').set({ expires_at: new Date(Date.now() - 60_000) }).where('id', '=', link.info.id).execute();
  const browser = await launchBrowser(t);
  const { page, problems } = await newPage(browser);
  await page.goto(link.url);
  await page.getByRole('heading', { name: 'This setup link cannot be used' }).waitFor(WAIT);
  t.match(await page.getByRole('alert').innerText(), /^This setup link expired on .* Ask the person who sent it for a new link\.$/);
  await screenshot(page, '07-setup-link-expired');
  await accessible(t, page, 'expired link');
  t.same(problems, []);
});

t.test('operator: one-time sign-in, tenant list, tenant page, setup link, guard release, a user\'s timeline, retry', async (t) => {
  const h = await syncHarness(t);
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(await scimUser(h, `user${i}@acme.test`));
  // zed's group grants a role Auth0 does not have yet: zed fails until it exists.
  const zed = await scimUser(h, 'zed@acme.test');
  t.equal((await h.scim.json('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Admins', members: [{ value: zed }] })).status, 201);
  await h.bind(undefined, RULES, { maxShare: 0.2, windowMinutes: 60, minUsers: 2 });
  await h.settle();
  for (const id of ids.slice(0, 8)) await setActive(h, id, false);
  await h.settle();
  const origin = await listen(h);
  const browser = await launchBrowser(t);
  const { page, problems } = await newPage(browser);

  const code = await createSignInCode(h.database.db);
  await page.goto(signInUrl(origin, code));
  await page.getByRole('heading', { name: 'Tenants', exact: true }).waitFor(WAIT);
  t.equal(new URL(page.url()).pathname, '/console/tenants', 'the sign-in link lands on the tenant list');
  await page.getByRole('cell', { name: /11 \/ 1/ }).waitFor(WAIT);
  await screenshot(page, '08-operator-tenants');
  await accessible(t, page, 'tenant list');

  const reused = await newPage(browser);
  await reused.page.goto(signInUrl(origin, code));
  await reused.page.getByText('This sign-in link was already used or has expired.').waitFor(WAIT);
  t.pass('the sign-in link works once');

  await page.getByRole('link', { name: 'acme' }).click();
  await page.getByRole('heading', { name: 'Recent SCIM requests' }).waitFor(WAIT);
  await page.getByRole('button', { name: 'Create setup link' }).click();
  const linkField = page.getByLabel('Setup link (shown once)', { exact: true });
  await linkField.waitFor(WAIT);
  t.match(await linkField.inputValue(), new RegExp(`^${origin}/console/setup#pvl_`), 'a setup link to send');
  await page.getByText(/deprovisioning\(s\) are held/).waitFor(WAIT);
  const held = Number(/(\d+) deprovisioning/.exec(await page.locator('.notice').filter({ hasText: 'held' }).innerText())?.[1]);
  t.ok(held >= 6, `the guard's hold is summarised (${held} held)`);
  await screenshot(page, '09-operator-tenant');
  await accessible(t, page, 'tenant page');

  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: `Release ${held} held` }).click();
  await page.getByText(`${held} released.`).waitFor(WAIT);
  t.pass('one confirmation releases the hold');
  await h.settle();
  await screenshot(page, '10-operator-guard-released');

  await createRoles(h, 'admin');
  await page.getByRole('button', { name: 'Retry 1 failed' }).click();
  await page.getByText('1 queued again.').waitFor(WAIT);
  await h.settle();
  t.pass('a failed user is retried once the cause is fixed');

  await page.getByRole('combobox', { name: 'Group' }).selectOption({ label: 'Admins (1)' });
  await page.locator('table.users tbody tr').filter({ hasText: 'user0@acme.test' }).waitFor({ state: 'detached', ...WAIT });
  t.same(await page.locator('table.users tbody tr').locator('button').allInnerTexts(), ['zed@acme.test'], 'the group filter shows the group\'s members only');
  await page.getByRole('button', { name: 'zed@acme.test' }).click();
  await page.getByRole('heading', { name: 'Timeline' }).waitFor(WAIT);
  const timeline = await page.locator('.timeline').innerText();
  t.match(timeline, /directory\s+POST \/scim\/v2\/acme\/Users → 201/, 'the timeline shows the IdP\'s request');
  t.match(await page.locator('.user-detail').innerText(), /role admin: .*Admins/, 'and why the user has its role');
  await screenshot(page, '11-operator-user-timeline');
  await accessible(t, page, 'user detail');
  t.match(await page.locator('figcaption').filter({ hasText: 'Sync lag' }).innerText(), /Sync lag .* \d+ users synced/, 'the sync lag chart');

  // A new customer: create the tenant, then bind it to Auth0 from its page.
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Name (URL slug)').fill('globex');
  await page.getByLabel('Display name').fill('Globex');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  t.match(await page.getByLabel('SCIM token (shown once)', { exact: true }).inputValue(), /^prv_/, 'the new tenant\'s first token, shown once');
  await page.getByRole('link', { name: 'globex', exact: true }).click();
  const editor = page.getByLabel('Binding (JSON)');
  await editor.waitFor(WAIT);
  t.match(await editor.inputValue(), /"name": "globex"/, 'an unbound tenant starts from a template');
  await editor.fill('{"binding": {"organization": {"name": "globex"}, "connections": [{"id": "con_nope", "name": "x", "mode": "sideways"}]}}');
  await page.getByRole('button', { name: 'Bind to Auth0' }).click();
  await page.getByRole('alert').filter({ hasText: /mode/ }).waitFor(WAIT);
  t.pass('a bad binding is refused with the field named');
  const connection = h.emulator.connections.database;
  await editor.fill(JSON.stringify({ binding: { organization: { name: 'globex', displayName: 'Globex' }, connections: [{ id: connection.id, name: connection.name, mode: 'database' }] } }));
  await page.getByRole('button', { name: 'Bind to Auth0' }).click();
  await page.getByText('Bound: every user is being imported into Auth0.').waitFor(WAIT);
  const bound = await h.database.db.selectFrom('tenant_sync_config as c').innerJoin('tenants as t', 't.id', 'c.tenant_id').select('t.name').where('t.name', '=', 'globex').executeTakeFirst();
  t.ok(bound, 'the tenant is bound');
  await screenshot(page, '12-operator-bind-new-tenant');
  await accessible(t, page, 'new tenant bound');
  t.same(problems, []);
});

t.test('operator: check the M2M application\'s scopes and deploy the Post-Login Action from the console', async (t) => {
  const h = await syncHarness(t, { adminAuth0: true, env: { PROVISIO_ACTION_SECRET: randomBytes(32).toString('hex') } });
  const origin = await listen(h);
  const browser = await launchBrowser(t);
  const { page, problems } = await newPage(browser);
  await page.goto(signInUrl(origin, await createSignInCode(h.database.db)));
  await page.getByRole('link', { name: 'Connect Auth0' }).click();
  await page.getByRole('button', { name: 'Check scopes' }).click();
  await page.getByText('Every scope Provisio needs is granted.').waitFor(WAIT);
  t.ok(await page.locator('table.scopes tbody tr').count() >= 4, 'one row per scope family');
  await screenshot(page, '13-operator-auth0-scopes');
  await accessible(t, page, 'Auth0 page');

  await page.getByLabel('Domain').fill(h.emulator.domain);
  await page.getByLabel('Client ID').fill(h.emulator.client.clientId);
  await page.getByLabel('Client secret').fill('not-the-secret');
  await page.getByRole('button', { name: 'Check scopes' }).click();
  await page.locator('[role="status"] .notice').waitFor(WAIT);
  t.notMatch(await page.locator('main').innerText(), /Every scope Provisio needs is granted/, 'a wrong secret is not reported as fine');
  t.notMatch(await page.content(), /not-the-secret<\/|"not-the-secret"/, 'the secret is not echoed into the page');

  await page.getByRole('button', { name: 'Deploy the Post-Login Action' }).click();
  await page.getByText(/Action provisio-post-login created, version \d+ deployed, added to the Login flow/).waitFor(WAIT);
  await page.getByRole('button', { name: 'Deploy the Post-Login Action' }).click();
  await page.getByText(/Action provisio-post-login unchanged, already deployed, already in the Login flow/).waitFor(WAIT);
  t.pass('a second deploy changes nothing');
  const state = h.emulator.emulator.snapshot() as unknown as { actions?: unknown[]; triggerBindings?: Record<string, unknown[]> };
  t.equal(JSON.stringify(state).match(/"name":"provisio-post-login"/g)?.length ?? 0, 1, 'one Action in Auth0');
  await screenshot(page, '14-operator-action-deployed');
  t.same(problems, []);
});
