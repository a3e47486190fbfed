/**
 * `provisio auth0-emulator --port N [--plan P] [--host H] [--domain D]`: runs the Auth0 Management API
 * emulator standalone and prints ONE JSON line — base URL, domain, the seeded M2M client (granted every
 * scope), the seeded database and enterprise connections (with its inbound-SCIM URL and token). Point
 * Provisio at it with AUTH0_BASE_URL=<baseUrl>, AUTH0_DOMAIN=<domain>, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { RatePlan } from '../auth0/emulator/rate-limit.js';
import { startAuth0Emulator, type RunningAuth0Emulator } from '../auth0/emulator/server.js';
import { closeOnSignal, emulatorCommand, writeLine, type EmulatorCommandIo } from '../emulators/cli.js';

const PLANS: readonly RatePlan[] = ['free', 'essentials', 'enterprise', 'off'];

/** The command's output and start hook (tests pass their own). */
export type Auth0EmulatorCommandIo = EmulatorCommandIo<RunningAuth0Emulator>;

const stdoutIo: Auth0EmulatorCommandIo = { out: writeLine };

function parsePlan(value: string): RatePlan {
  const plan = PLANS.find((p) => p === value);
  if (!plan) throw new InvalidArgumentError(`plan must be one of ${PLANS.join(', ')}`);
  return plan;
}

/** Adds the `auth0-emulator` command to `program`. */
export function registerAuth0EmulatorCommand(program: Command, io: Auth0EmulatorCommandIo = stdoutIo): void {
  const description = 'run the Auth0 Management API emulator (prints one JSON line with its URL and credentials)';
  emulatorCommand(program, 'auth0-emulator', description)
    .option('--plan <plan>', `rate-limit plan: ${PLANS.join(' | ')}`, parsePlan, 'off' as RatePlan)
    .option('--domain <domain>', 'tenant domain the SDK is configured with')
    .action(async (opts: { port: number; host: string; plan: RatePlan; domain?: string }) => {
      const running = await startAuth0Emulator({
        port: opts.port,
        host: opts.host,
        plan: opts.plan,
        ...(opts.domain ? { domain: opts.domain } : {}),
      });
      io.out(JSON.stringify({
        baseUrl: running.baseUrl,
        domain: running.domain,
        plan: opts.plan,
        client: running.client,
        connections: running.connections,
        admin: `${running.baseUrl}/__emulator`,
      }));
      closeOnSignal(running);
      io.onStarted?.(running);
    });
}
