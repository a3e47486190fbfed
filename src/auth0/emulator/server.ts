/**
 * Starts the emulator on a port (in-process) — what tests, the zero-config `npm start` and the
 * `provisio auth0-emulator` command use. `fetchFor()` gives the official SDK a `fetch` that sends
 * `https://<domain>` requests to the emulator (research/auth0.md §3.4).
 */
import { buildAuth0Emulator } from './app.js';
import type { Auth0Emulator } from './emulator.js';
import type { RatePlan } from './rate-limit.js';

export interface StartAuth0EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  plan?: RatePlan;
  /** Create the default client and connections (default true). */
  seed?: boolean;
  domain?: string;
  tokenLifetimeSec?: number;
  faultSeed?: number;
}

export interface RunningAuth0Emulator {
  /** `http://host:port` — what `AUTH0_BASE_URL` points at. */
  baseUrl: string;
  /** The tenant domain to give the SDK (`new ManagementClient({ domain })`). */
  domain: string;
  /** Seeded M2M client granted every scope (empty strings when started with `seed: false`). */
  client: { clientId: string; clientSecret: string };
  connections: {
    database: { id: string; name: string };
    enterprise: { id: string; name: string; scim: { url: string; token: string } };
  };
  emulator: Auth0Emulator;
  /** A `fetch` that rewrites `https://<domain>` to `baseUrl`; pass it as the SDK's `fetch` option. */
  fetch: typeof fetch;
  close(): Promise<void>;
}

/** A fetch that rewrites `https://<domain>` URLs to `baseUrl` and passes everything else through. */
export function redirectingFetch(domain: string, baseUrl: string): typeof fetch {
  const prefix = `https://${domain}`;
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const target = url.startsWith(prefix) ? baseUrl + url.slice(prefix.length) : url;
    if (typeof input === 'string' || input instanceof URL) return fetch(target, init);
    return fetch(new Request(target, input), init);
  };
}

/** Builds and listens; resolves once the port is bound. */
export async function startAuth0Emulator(options: StartAuth0EmulatorOptions = {}): Promise<RunningAuth0Emulator> {
  const { app, emulator } = await buildAuth0Emulator({
    ...(options.plan ? { plan: options.plan } : {}),
    ...(options.domain ? { domain: options.domain } : {}),
    ...(options.tokenLifetimeSec ? { tokenLifetimeSec: options.tokenLifetimeSec } : {}),
    ...(options.faultSeed !== undefined ? { faultSeed: options.faultSeed } : {}),
    seed: options.seed !== false,
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 0;
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const seed = emulator.seeded;
  return {
    baseUrl,
    domain: emulator.domain,
    client: seed?.client ?? { clientId: '', clientSecret: '' },
    connections: {
      database: seed?.connections.database ?? { id: '', name: '' },
      enterprise: {
        id: seed?.connections.enterprise.id ?? '',
        name: seed?.connections.enterprise.name ?? '',
        scim: {
          url: seed ? `${baseUrl}${seed.connections.enterprise.scim.path}` : '',
          token: seed?.connections.enterprise.scim.token ?? '',
        },
      },
    },
    emulator,
    fetch: redirectingFetch(emulator.domain, baseUrl),
    close: () => app.close(),
  };
}
