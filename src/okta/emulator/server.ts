/**
 * Starts the Okta emulator on a loopback port (in-process), for tests and, later, the
 * `provisio okta-emulator` command. Point the SDK at `baseUrl` with `token`.
 */
import { buildOktaEmulator } from './app.js';
import type { OktaRateLimiter, OktaRateLimits } from './rate-limit.js';
import type { OktaState } from './state.js';

export interface StartOktaEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  token?: string;
  rateLimits?: OktaRateLimits;
  rateWindowMs?: number;
}

export interface RunningOktaEmulator {
  /** `http://host:port`: the SDK's `orgUrl`. */
  baseUrl: string;
  /** The API token the org accepts (`SSWS`). */
  token: string;
  /** The org's users and groups, readable and writable by tests. */
  state: OktaState;
  /** The rate budgets (change or reset them mid-test). */
  limiter: OktaRateLimiter;
  close(): Promise<void>;
}

/** Builds and listens; resolves once the port is bound. */
export async function startOktaEmulator(options: StartOktaEmulatorOptions = {}): Promise<RunningOktaEmulator> {
  const { app, context } = await buildOktaEmulator({
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    ...(options.rateWindowMs !== undefined ? { rateWindowMs: options.rateWindowMs } : {}),
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 0;
  return {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: context.token,
    state: context.state,
    limiter: context.limiter,
    close: () => app.close(),
  };
}
