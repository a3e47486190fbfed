/**
 * Test harness: an Okta emulator on a loopback port and the official `@okta/okta-sdk-nodejs` client
 * pointed at it, with an API token or as a service app (`authorizationMode: 'PrivateKey'`). The client's
 * request executor records every answer so `checkResponses` can validate success bodies against the spec
 * and error bodies against Okta's error shape (the token endpoint's against RFC 6749 §5.1/§5.2).
 */
import { generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';
import okta from '@okta/okta-sdk-nodejs';
import type { Test } from 'tap';
import { startOktaEmulator, type RunningOktaEmulator, type StartOktaEmulatorOptions } from '../../../src/okta/emulator/server.js';
import { templateFor, validateResponse } from './openapi.js';

export interface Exchange {
  method: string;
  url: string;
  status: number;
  body: unknown;
}

/** How a further client behaves: `retries: 0` surfaces 429s; `requestTimeout` (ms) gives up on silence. */
export interface ClientBehaviour {
  retries?: number;
  requestTimeout?: number;
}

/** A service app's signing key: the private half for the SDK, the public half for the emulator. */
export interface ServiceAppKey {
  keyId: string;
  publicJwk: JsonWebKey;
  privateJwk: JsonWebKey;
  /** The same private key as PKCS#8 PEM (the SDK accepts either). */
  privatePem: string;
}

export interface OktaHarness {
  emu: RunningOktaEmulator;
  /** SDK client with the API token, the SDK's default retry behaviour and no cache. */
  sdk: okta.Client;
  /** A further API-token client; `token` overrides the API token. */
  client(options?: ClientBehaviour & { token?: string }): okta.Client;
  /** A client authenticating as a service app with a signed client assertion. */
  serviceAppClient(options: ClientBehaviour & { clientId: string; privateKey: JsonWebKey | string; keyId?: string; scopes: readonly string[] }): okta.Client;
  exchanges: Exchange[];
  close(): Promise<void>;
}

type FetchArgs = Parameters<okta.RequestExecutor['fetch']>[0];
type FetchResult = Awaited<ReturnType<okta.RequestExecutor['fetch']>>;

/** The SDK's default executor (429 back-off) with each final answer recorded. */
class RecordingExecutor extends okta.DefaultRequestExecutor {
  constructor(private readonly exchanges: Exchange[], maxRetries: number, requestTimeout: number) {
    super({ maxRetries, requestTimeout });
  }

  override fetch(request: FetchArgs): Promise<FetchResult> {
    return super.fetch(request).then(async (response) => {
      const text = await response.clone().text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        // Keep the raw text: checkResponses reports it.
      }
      this.exchanges.push({ method: String((request as { method?: string }).method ?? 'get').toUpperCase(), url: response.url, status: response.status, body });
      return response;
    });
  }
}

/** A fresh RSA key pair for a service app, with a `kid` on both halves. */
export function serviceAppKey(): ServiceAppKey {
  const keyId = randomUUID();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyId,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: keyId },
    privateJwk: { ...privateKey.export({ format: 'jwk' }), kid: keyId },
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Starts an emulator and an SDK client for one test file. */
export async function startOktaHarness(options: StartOktaEmulatorOptions = {}): Promise<OktaHarness> {
  const emu = await startOktaEmulator(options);
  const exchanges: Exchange[] = [];
  const common = (o: ClientBehaviour) => ({
    orgUrl: emu.baseUrl,
    // The default cache answers GETs from memory by `_links.self.href`; tests want the server's answer.
    cacheMiddleware: null,
    requestExecutor: new RecordingExecutor(exchanges, o.retries ?? 2, o.requestTimeout ?? 0),
  });
  // authorizationMode is always explicit: the SDK would otherwise take it from ~/.okta/okta.yaml.
  const client: OktaHarness['client'] = (o = {}) =>
    new okta.Client({ ...common(o), authorizationMode: 'SSWS', token: o.token ?? emu.token });
  const serviceAppClient: OktaHarness['serviceAppClient'] = (o) =>
    new okta.Client({
      ...common(o),
      authorizationMode: 'PrivateKey',
      clientId: o.clientId,
      scopes: [...o.scopes],
      privateKey: typeof o.privateKey === 'string' ? o.privateKey : { ...o.privateKey },
      ...(o.keyId !== undefined ? { keyId: o.keyId } : {}),
    });
  return { emu, sdk: client(), client, serviceAppClient, exchanges, close: () => emu.close() };
}

/** Collects every item of an SDK collection (following `Link: rel="next"`). */
export async function all<T>(collection: Promise<AsyncIterable<T>>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of await collection) items.push(item);
  return items;
}

/** The SDK's error of a call expected to fail (the test fails when it succeeds or throws something else). */
export async function oktaError(promise: Promise<unknown>): Promise<okta.OktaApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof okta.OktaApiError) return err;
    throw err;
  }
  throw new Error('expected an OktaApiError');
}

/** RFC 6749 §5.1 for `/oauth2/v1/token` answers of 200, §5.2 for its errors. */
function isTokenAnswer(status: number, body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  if (status !== 200) return typeof b['error'] === 'string' && typeof b['error_description'] === 'string';
  return b['token_type'] === 'Bearer' && typeof b['access_token'] === 'string' && b['expires_in'] === 3600 && typeof b['scope'] === 'string';
}

function isOktaErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return ['errorCode', 'errorSummary', 'errorLink', 'errorId'].every((k) => typeof b[k] === 'string') && Array.isArray(b['errorCauses']);
}

/**
 * Asserts that every recorded answer has the documented shape: 200 bodies against the spec's response
 * schema, other successes empty, errors Okta's error body. Returns how many were checked.
 */
export function checkResponses(t: Pick<Test, 'ok'>, h: OktaHarness): number {
  let checked = 0;
  for (const ex of h.exchanges.splice(0)) {
    const { pathname } = new URL(ex.url);
    const label = `${ex.method} ${pathname} → ${ex.status}`;
    if (pathname === '/oauth2/v1/token' && ex.status !== 429) {
      t.ok(isTokenAnswer(ex.status, ex.body), `${label} is an OAuth token answer`, { body: ex.body });
    } else if (ex.status >= 400) {
      t.ok(isOktaErrorBody(ex.body), `${label} is an Okta error body`, { body: ex.body });
    } else if (ex.status !== 200 || ex.body === undefined) {
      t.ok(ex.body === undefined, `${label} has no body`);
    } else {
      const template = templateFor(ex.method, pathname);
      if (!template) {
        t.ok(false, `${label} matches no spec operation`);
        continue;
      }
      const result = validateResponse(ex.method, template, ex.body);
      t.ok(result.valid, `${label} matches the spec schema of ${ex.method} ${template}`, { errors: result.errors });
    }
    checked++;
  }
  return checked;
}
