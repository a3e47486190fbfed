/**
 * Signing in to the console with Auth0, in a real browser: the console sends the browser to the Auth0
 * tenant's login page (the emulator's Universal Login), Auth0 sends it back with a code, and the access
 * token for the admin API becomes the session. An operator lands on the tenant list; a customer's admin,
 * logging in through the organization bound to their tenant, lands on that tenant's setup page only.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { startAuth0Emulator } from '../../src/auth0/emulator/server.js';
import { createManagementClient } from '../../src/auth0/client.js';
import { testApp } from '../helpers/app.js';
import { browserMissing, launchBrowser, newPage, screenshot, seriousA11yViolations } from '../helpers/browser.js';


const WAIT = { timeout: 20_000 };
const API = 'https://provisio.example.test/admin';

async function signInJourneys(): Promise<void> {
  const emu = await startAuth0Emulator();
  t.teardown(() => emu.close());
  const mgmt = createManagementClient({ domain: emu.domain, clientId: emu.client.clientId, clientSecret: emu.client.clientSecret, baseUrl: emu.baseUrl, plan: 'enterprise' });
  await mgmt.resourceServers.create({
    identifier: API, name: 'Provisio admin API', token_dialect: 'access_token_authz', enforce_policies: true,
    scopes: [{ value: 'provisio:admin' }, { value: 'provisio:org-admin' }],
  });
  const newPassword = () => `Pw-${randomBytes(9).toString('base64url')}1a`;
  async function staff(email: string, password: string, permission: string, organization?: string): Promise<void> {
    const role = await mgmt.roles.create({ name: `${email} ${permission}` });
    await mgmt.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: permission }] });
    const user = await mgmt.users.create({ connection: 'Username-Password-Authentication', email, password });
    if (!organization) {
      await mgmt.users.roles.assign(user.user_id!, { roles: [role.id!] });
      return;
    }
    await mgmt.organizations.members.create(organization, { members: [user.user_id!] });
    await mgmt.organizations.members.roles.assign(organization, user.user_id!, { roles: [role.id!] });
  }

  const clientId = `console${randomBytes(8).toString('hex')}`;
  const { app, database } = await testApp(t, { ADMIN_JWT_ISSUER: `${emu.baseUrl}/`, ADMIN_JWT_AUDIENCE: API, CONSOLE_AUTH0_CLIENT_ID: clientId });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  emu.emulator.createClient({ clientId, appType: 'spa', name: 'Provisio console', callbacks: [`${origin}/console/`], connections: ['Username-Password-Authentication'] });

  const browser = await launchBrowser(t);

  t.test('an operator signs in with Auth0 and reaches the tenant list', async (t) => {
    const password = newPassword();
    await staff('ops@example.test', password, 'provisio:admin');
    const { page, problems } = await newPage(browser);
    await page.goto(`${origin}/console/`);
    const button = page.getByRole('button', { name: 'Sign in with Auth0' });
    await button.waitFor(WAIT);
    t.match(await page.getByText('Allowed Callback URL').innerText(), `${origin}/console/`, 'the page says which callback URL to allow');
    t.same((await seriousA11yViolations(page)).map((v) => v.id), [], 'sign-in page: no serious accessibility violation');
    await screenshot(page, '20-sign-in-with-auth0');

    await button.click();
    await page.getByLabel('Email address').waitFor(WAIT);
    t.equal(new URL(page.url()).origin, emu.baseUrl, 'the password is typed on the Auth0 tenant, not in the console');
    await page.getByLabel('Email address').fill('ops@example.test');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Wrong email or password.').waitFor(WAIT);
    await page.getByLabel('Password').fill(password);
    await screenshot(page, '21-auth0-login-page');
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.waitForURL(`${origin}/console/tenants`, WAIT);
    await page.getByRole('link', { name: 'acme', exact: true }).waitFor(WAIT);
    t.pass('back in the console, signed in as an operator');
    t.equal(new URL(page.url()).search, '', 'the code is gone from the address bar');
    const token = await page.evaluate(() => JSON.parse((globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('provisio.console.session') ?? '{}').token as string);
    t.equal(token.split('.').length, 3, 'the session holds the Auth0 access token');
    const me = await (await fetch(`${origin}/v1/admin/me`, { headers: { authorization: `Bearer ${token}` } })).json();
    t.match(me, { kind: 'operator', actor: /^jwt:auth0\|/ });
    await screenshot(page, '22-signed-in-with-auth0');
    t.same(problems, [], 'no script error, no CSP violation');
  });

  t.test("a customer's admin signs in through their organization and sees only their tenant", async (t) => {
    const org = await mgmt.organizations.create({ name: 'acme', display_name: 'Acme' });
    await sql`insert into tenant_sync_config (tenant_id, binding, rules)
      select id, ${JSON.stringify({ organization: { name: 'acme', id: org.id } })}::jsonb, '{"rules":[]}'::jsonb from tenants where name = 'acme'`.execute(database.db);
    const password = newPassword();
    await staff('it@acme.example.test', password, 'provisio:org-admin', org.id!);
    const outsiderPassword = newPassword();
    await mgmt.users.create({ connection: 'Username-Password-Authentication', email: 'stranger@example.test', password: outsiderPassword });

    const { page } = await newPage(browser);
    const signIn = async (email: string, pass: string) => {
      await page.goto(`${origin}/console/`);
      await page.getByLabel('Organization (customer admins only)').fill('acme');
      await page.getByRole('button', { name: 'Sign in with Auth0' }).click();
      await page.getByText('Log in to continue to Provisio console (Acme).').waitFor(WAIT);
      await page.getByLabel('Email address').fill(email);
      await page.getByLabel('Password').fill(pass);
      await page.getByRole('button', { name: 'Continue' }).click();
    };

    await signIn('stranger@example.test', outsiderPassword);
    await page.getByRole('alert').filter({ hasText: 'is not part of the' }).waitFor(WAIT);
    t.pass("Auth0's refusal is shown on the sign-in page");

    await signIn('it@acme.example.test', password);
    await page.waitForURL(`${origin}/console/setup`, WAIT);
    await page.getByRole('heading', { name: 'Step 1: which identity provider does your company use?' }).waitFor(WAIT);
    t.pass("the organization's admin lands on their tenant's setup page");
    const status = await page.evaluate(async () => {
      const session = JSON.parse((globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('provisio.console.session') ?? '{}') as { token: string };
      return (await fetch('/v1/admin/tenants', { headers: { authorization: `Bearer ${session.token}` } })).status;
    });
    t.equal(status, 403, 'and cannot list every tenant');
  });
}

const missing = browserMissing();
if (missing) {
  console.error(`\n!!! SKIPPING the console's Auth0 sign-in browser test: ${missing}\n`);
  t.plan(0, missing);
} else {
  await signInJourneys();
}
