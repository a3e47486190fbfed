/**
 * Starts the Okta emulator on a loopback port (in-process), for tests and the `provisio okta-emulator`
 * command. Point the SDK at `baseUrl` with `token` (`SSWS`), or with a registered service app's client id
 * and private key (`authorizationMode: 'PrivateKey'`).
 */
import type { CallLog } from '../../emulators/call-log.js';
import { buildOktaEmulator, type BuildOktaEmulatorOptions } from './app.js';
import { resetOrg } from './context.js';
import type { OktaFaultInjector } from './faults.js';
import type { OktaRateLimiter } from './rate-limit.js';
import type { ServiceAppRegistration } from './service-apps.js';
import type { OktaState } from './state.js';

/** What `buildOktaEmulator` takes (its logger aside: a running emulator logs nothing), and where to listen. */
export interface StartOktaEmulatorOptions extends Omit<BuildOktaEmulatorOptions, 'logger'> {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
}

export interface RunningOktaEmulator {
  /** `http://host:port`: the SDK's `orgUrl`. */
  baseUrl: string;
  /** The API token the org accepts (`SSWS`). */
  token: string;
  /** Client ids of `options.serviceApps`, in order. */
  serviceAppIds: string[];
  /** The org's users and groups, readable and writable by tests. */
  state: OktaState;
  /** The rate budgets (change or reset them mid-test). */
  limiter: OktaRateLimiter;
  /** Fault rules per operation: `faults.set('POST /api/v1/users', { errorRate: 1, times: 1 })`, `faults.clear()`. */
  faults: OktaFaultInjector;
  /** Every request received: `calls.list({ operation, since })`, `calls.clear()`. */
  calls: CallLog;
  /** Registers a service app (`publicJwk` verifies its client assertions) and returns its client id. */
  registerServiceApp(registration: ServiceAppRegistration): string;
  /** Empties the org (but `Everyone`), the call log, faults and rate windows; credentials stay valid. */
  reset(): void;
  close(): Promise<void>;
}

/** Builds and listens; resolves once the port is bound. */
export async function startOktaEmulator(options: StartOktaEmulatorOptions = {}): Promise<RunningOktaEmulator> {
  const { port: _port, host: _host, ...build } = options;
  const { app, context, serviceAppIds } = await buildOktaEmulator(build);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 0;
  return {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: context.token,
    serviceAppIds,
    state: context.state,
    limiter: context.limiter,
    faults: context.faults,
    calls: context.calls,
    registerServiceApp: (registration) => context.serviceApps.register(registration),
    reset: () => resetOrg(context),
    close: () => app.close(),
  };
}
