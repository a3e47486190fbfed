/**
 * Test harness: an emulator on a loopback port, the official `auth0` SDK pointed at it through `fetch`,
 * and a capture of every HTTP exchange so `checkResponses` can validate each body against the OpenAPI
 * response schema of the matching (method, path template, status).
 */
import { ManagementClient, ManagementError } from 'auth0';
import type { Test } from 'tap';
import { startAuth0Emulator, type RunningAuth0Emulator, type StartAuth0EmulatorOptions } from '../../../src/auth0/emulator/server.js';
import { OPERATION_KEYS } from './generate-operation-schemas.js';
import { isAuth0ErrorEnvelope, validateResponse } from './openapi.js';

export interface Exchange {
  method: string;
  url: string;
  status: number;
  body: unknown;
}

export interface Harness {
  emu: RunningAuth0Emulator;
  /** SDK client with every scope (default SDK retry settings). */
  mgmt: ManagementClient;
  /** Every exchange seen by clients created through `client()` (and `mgmt`). */
  exchanges: Exchange[];
  /** A further SDK client; `fetch` is the capturing redirect. */
  client(options?: { clientId?: string; clientSecret?: string; maxRetries?: number; timeoutInSeconds?: number }): ManagementClient;
  /** Raw request to the emulator (captured too). */
  request(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: unknown; headers: Headers }>;
  /** A Management API token for the seeded client. */
  token(): Promise<string>;
  close(): Promise<void>;
}

type Assert = Pick<Test, 'ok'>;

/** Path templates ordered so static segments win over parameters (`/organizations/name/{name}`). */
const TEMPLATES = [...new Set(OPERATION_KEYS.map((k) => k.split(' ')[1] ?? ''))]
  .map((template) => ({
    template,
    regex: new RegExp(`^/api/v2${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    params: (template.match(/\{/g) ?? []).length,
  }))
  .sort((a, b) => a.params - b.params);

function templateFor(method: string, pathname: string): string | undefined {
  return TEMPLATES.find((t) => t.regex.test(pathname) && OPERATION_KEYS.includes(`${method} ${t.template}` as never))?.template;
}

async function capture(exchanges: Exchange[], method: string, response: Response): Promise<void> {
  const text = await response.clone().text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Keep the raw text: a non-JSON body fails validation below.
  }
  exchanges.push({ method, url: response.url, status: response.status, body });
}

/** Starts an emulator and an SDK client for one test file. */
export async function startHarness(options: StartAuth0EmulatorOptions = {}): Promise<Harness> {
  const emu = await startAuth0Emulator(options);
  const exchanges: Exchange[] = [];
  const capturing: typeof fetch = async (input, init) => {
    const response = await emu.fetch(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    await capture(exchanges, method, response);
    return response;
  };
  const client: Harness['client'] = (o = {}) =>
    new ManagementClient({
      domain: emu.domain,
      clientId: o.clientId ?? emu.client.clientId,
      clientSecret: o.clientSecret ?? emu.client.clientSecret,
      fetch: capturing,
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      ...(o.timeoutInSeconds !== undefined ? { timeoutInSeconds: o.timeoutInSeconds } : {}),
    });
  let cachedToken: string | undefined;
  const harness: Harness = {
    emu,
    mgmt: client(),
    exchanges,
    client,
    async token() {
      if (cachedToken) return cachedToken;
      const response = await capturing(`https://${emu.domain}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: emu.client.clientId,
          client_secret: emu.client.clientSecret,
          audience: `https://${emu.domain}/api/v2/`,
        }).toString(),
      });
      const json: unknown = await response.json();
      const token = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['access_token'] : undefined;
      if (typeof token !== 'string') throw new Error('no access token');
      cachedToken = token;
      return token;
    },
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
      if (o.body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await capturing(`https://${emu.domain}${path}`, {
        method,
        headers,
        ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
    },
    close: () => emu.close(),
  };
  return harness;
}

/** The oauth/token success body (Authentication API; not part of the Management API spec). */
function validTokenBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b['access_token'] === 'string' && typeof b['expires_in'] === 'number' && b['token_type'] === 'Bearer';
}

/**
 * Asserts that every captured Management API response body matches the spec: success bodies against the
 * documented schema of (method, template, status); errors against Auth0's envelope. Returns the count.
 */
export function checkResponses(t: Assert, h: Harness): number {
  let checked = 0;
  for (const ex of h.exchanges.splice(0)) {
    const { pathname } = new URL(ex.url);
    const label = `${ex.method} ${pathname} → ${ex.status}`;
    if (pathname === '/oauth/token') {
      t.ok(ex.status === 200 ? validTokenBody(ex.body) : typeof (ex.body as Record<string, unknown> | undefined)?.['error'] === 'string', `${label} token body`);
    } else if (!pathname.startsWith('/api/v2/')) {
      continue;
    } else if (ex.status >= 400) {
      t.ok(isAuth0ErrorEnvelope(ex.body) && (ex.body as Record<string, unknown>)['statusCode'] === ex.status, `${label} is an Auth0 error envelope`, { body: ex.body });
    } else {
      const template = templateFor(ex.method, pathname);
      if (!template) {
        t.ok(false, `${label} matches no spec operation`);
        continue;
      }
      try {
        const result = validateResponse(ex.method, template, ex.status, ex.body);
        t.ok(result.valid, `${label} matches the spec schema of ${ex.method} ${template}`, { errors: result.errors });
      } catch (err) {
        t.ok(false, `${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    checked++;
  }
  return checked;
}

/** The SDK's error of a call expected to fail (the test fails when it succeeds or throws something else). */
export async function managementError(promise: Promise<unknown>): Promise<ManagementError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ManagementError) return err;
    throw err;
  }
  throw new Error('expected a ManagementError');
}
