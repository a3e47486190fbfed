import t from 'tap';
import { consoleBuildDirectory } from '../../src/http/console.js';
import { testApp } from '../helpers/app.js';

t.test('the console is served under /console/ with its own security headers', async (t) => {
  t.ok(consoleBuildDirectory(), 'the console is built (npm test runs npm run build:console first)');
  const { app } = await testApp(t);

  const root = await app.inject({ method: 'GET', url: '/' });
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/console/', 'the server\'s address opens the console');

  const page = await app.inject({ method: 'GET', url: '/console/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page always revalidates, so a deploy is seen at once');
  t.match(page.headers['content-security-policy'], /script-src 'self';.*frame-ancestors 'none'/);
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.equal(page.headers['x-frame-options'], 'DENY');

  const deep = await app.inject({ method: 'GET', url: '/console/tenants/acme' });
  t.equal(deep.statusCode, 200, 'a client-side route is the app\'s page');
  t.equal(deep.body, page.body);
  const setup = await app.inject({ method: 'GET', url: '/console/setup' });
  t.equal(setup.body, page.body);

  const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
  t.ok(script, 'the page names its script');
  const asset = await app.inject({ method: 'GET', url: script! });
  t.equal(asset.statusCode, 200);
  t.match(asset.headers['content-type'], /javascript/);
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', 'content-hashed assets are cached for good');

  const missing = await app.inject({ method: 'GET', url: '/console/assets/gone-1234.js' });
  t.equal(missing.statusCode, 404, 'a missing asset is a 404, not the page parsed as a script');
  t.equal((await app.inject({ method: 'POST', url: '/console/setup' })).statusCode, 404);
  for (const url of ['/console/../package.json', '/console/%2e%2e/%2e%2e/package.json', '/console/..%2f..%2fpackage.json']) {
    const escape = await app.inject({ method: 'GET', url });
    t.notMatch(escape.body, /"name": "provisio"/, `${url}: no file outside the build is served`);
  }
});

t.test('sign-in with Auth0 is offered only when a console application is configured', async (t) => {
  const plain = await testApp(t);
  const off = await plain.app.inject({ method: 'GET', url: '/console/config.json' });
  t.equal(off.statusCode, 200);
  t.same(off.json(), { auth0: null });
  t.match(off.headers['content-security-policy'], /connect-src 'self';/, 'the page may talk to no other origin');

  const { app } = await testApp(t, { ADMIN_JWT_ISSUER: 'https://acme.eu.auth0.com/', ADMIN_JWT_AUDIENCE: 'https://provisio.example.test/admin', CONSOLE_AUTH0_CLIENT_ID: 'AbC123_spa' });
  const on = await app.inject({ method: 'GET', url: '/console/config.json' });
  t.same(on.json(), { auth0: { domain: 'https://acme.eu.auth0.com', clientId: 'AbC123_spa', audience: 'https://provisio.example.test/admin' } });
  const page = await app.inject({ method: 'GET', url: '/console/' });
  t.match(page.headers['content-security-policy'], /connect-src 'self' https:\/\/acme\.eu\.auth0\.com;/, 'the token request may go to the Auth0 tenant, and nowhere else');
});

t.test('CONSOLE_AUTH0_CLIENT_ID without the admin API accepting Auth0 tokens refuses to start', async (t) => {
  const { loadConfig } = await import('../../src/config.js');
  t.throws(() => loadConfig({ CONSOLE_AUTH0_CLIENT_ID: 'AbC123_spa' }), /needs ADMIN_JWT_ISSUER and ADMIN_JWT_AUDIENCE/);
  t.throws(() => loadConfig({ ADMIN_JWT_ISSUER: 'https://acme.eu.auth0.com/', ADMIN_JWT_AUDIENCE: 'x', CONSOLE_AUTH0_CLIENT_ID: 'a b' }), /must be an Auth0 client id/);
});
