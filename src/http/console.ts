/**
 * The web console: the single-page app built by Vite from `console/` into `dist/console`, served under
 * `/console/` (`/` redirects there). It talks only to the admin API, so this module only serves files.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AdminJwtConfig } from '../config.js';

/** Where the build is: beside the compiled server (`dist/console` from `dist/http`) or from `src/http` under tsx. */
export function consoleBuildDirectory(): string | undefined {
  const candidates = [new URL('../console/', import.meta.url), new URL('../../dist/console/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(`${dir}index.html`));
}

/** Staff sign-in with Auth0: the SPA application, and the tenant and API the admin API trusts. */
export interface ConsoleAuth0 {
  /** Where the browser logs in: the issuer's origin (`https://acme.eu.auth0.com`, or a custom domain). */
  readonly domain: string;
  readonly clientId: string;
  readonly audience: string;
}

/** The console's Auth0 sign-in, when the admin API accepts Auth0 tokens and a console application is named. */
export function consoleAuth0(adminJwt: AdminJwtConfig | undefined): ConsoleAuth0 | undefined {
  if (!adminJwt?.consoleClientId) return undefined;
  return { domain: new URL(adminJwt.issuer).origin, clientId: adminJwt.consoleClientId, audience: adminJwt.audience };
}

/**
 * The console's pages are scripts and styles of our own only: no inline script, nothing from elsewhere,
 * never framed. `no-referrer`, because a setup page must not tell other sites where it was. The only
 * other origin a page may talk to is the Auth0 tenant's, for the token request of a sign-in with Auth0.
 */
function consoleHeaders(auth0: ConsoleAuth0 | undefined): Record<string, string> {
  const connect = auth0 ? `'self' ${auth0.domain}` : "'self'";
  return {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

const consolePlugin: FastifyPluginAsync<{ root: string; auth0: ConsoleAuth0 | undefined }> = async (app, { root, auth0 }) => {
  const headers = consoleHeaders(auth0);
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(headers);
  });
  // Public, like the page itself: what the sign-in page needs to offer Auth0 (no secret: an SPA has none).
  app.get('/config.json', (_request, reply) => reply.header('cache-control', 'no-cache').send({ auth0: auth0 ?? null }));
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: ['index.html'],
    wildcard: true,
    // Vite names every asset by its content hash: cache them for good; the page itself always revalidates.
    setHeaders: (res, path) => {
      res.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // Client-side routes (/console/tenants/acme, /console/setup) are the app's page.
  app.setNotFoundHandler((request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply.code(404).type('text/plain').send('Not found');
    // A missing asset is a 404, not the page: a stale tab must not parse HTML as a script.
    if (/\.[a-z0-9]+$/i.test(request.url.split('?')[0] ?? '')) return reply.code(404).type('text/plain').send('Not found');
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
};

export async function registerConsole(app: FastifyInstance, options: { auth0?: ConsoleAuth0 | undefined } = {}): Promise<void> {
  const root = consoleBuildDirectory();
  app.get('/', (_request, reply) => reply.redirect('/console/'));
  app.get('/console', (_request, reply) => reply.redirect('/console/'));
  if (!root) {
    // A source checkout before `npm run build`: say how to get the console rather than a bare 404.
    app.get('/console/*', (_request, reply) => reply.code(503).type('text/plain').send('The web console is not built: run `npm run build` (npm start does it).'));
    return;
  }
  await app.register(consolePlugin, { prefix: '/console', root, auth0: options.auth0 });
}
