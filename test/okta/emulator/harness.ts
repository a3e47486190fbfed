/**
 * Test harness: an Okta emulator on a loopback port and the official `@okta/okta-sdk-nodejs` client
 * pointed at it. The client's request executor records every answer so `checkResponses` can validate
 * success bodies against the spec and error bodies against Okta's error shape.
 */
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

export interface OktaHarness {
  emu: RunningOktaEmulator;
  /** SDK client with the SDK's default retry behaviour and no cache. */
  sdk: okta.Client;
  /** A further client: `retries: 0` surfaces 429s; `token` overrides the API token. */
  client(options?: { retries?: number; token?: string }): okta.Client;
  exchanges: Exchange[];
  close(): Promise<void>;
}

type FetchArgs = Parameters<okta.RequestExecutor['fetch']>[0];
type FetchResult = Awaited<ReturnType<okta.RequestExecutor['fetch']>>;

/** The SDK's default executor (429 back-off) with each final answer recorded. */
class RecordingExecutor extends okta.DefaultRequestExecutor {
  constructor(private readonly exchanges: Exchange[], maxRetries: number) {
    super({ maxRetries, requestTimeout: 0 });
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

/** Starts an emulator and an SDK client for one test file. */
export async function startOktaHarness(options: StartOktaEmulatorOptions = {}): Promise<OktaHarness> {
  const emu = await startOktaEmulator(options);
  const exchanges: Exchange[] = [];
  const client: OktaHarness['client'] = (o = {}) =>
    new okta.Client({
      orgUrl: emu.baseUrl,
      token: o.token ?? emu.token,
      // The default cache answers GETs from memory by `_links.self.href`; tests want the server's answer.
      cacheMiddleware: null,
      requestExecutor: new RecordingExecutor(exchanges, o.retries ?? 2),
    });
  return { emu, sdk: client(), client, exchanges, close: () => emu.close() };
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
    if (ex.status >= 400) {
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
