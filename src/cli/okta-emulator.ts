/**
 * `provisio okta-emulator --port N [--host H] [--rate-limits users=600,user=600,groups=500]`: runs the
 * Okta Management API emulator standalone and prints ONE JSON line — the org URL, its API token (`SSWS`)
 * and a service app registered with a fresh RSA key pair and the users/groups scopes, so both of Okta's
 * authentication methods can be tried (`authorizationMode: 'PrivateKey'` with `clientId`, `scopes`,
 * `privateKey: privateKeyJwk`, `keyId`). Control and inspection live under `admin` (`/__emulator`).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { closeOnSignal, emulatorCommand, writeLine, type EmulatorCommandIo } from '../emulators/cli.js';
import type { OktaRateBucket, OktaRateLimits } from '../okta/emulator/rate-limit.js';
import { startOktaEmulator, type RunningOktaEmulator } from '../okta/emulator/server.js';

const BUCKETS: readonly OktaRateBucket[] = ['users', 'user', 'groups'];
/** What the printed service app may do: everything the emulator serves. */
const SERVICE_APP_SCOPES = ['okta.users.manage', 'okta.users.read', 'okta.groups.manage', 'okta.groups.read'];

/** The command's output and start hook (tests pass their own). */
export type OktaEmulatorCommandIo = EmulatorCommandIo<RunningOktaEmulator>;

const stdoutIo: OktaEmulatorCommandIo = { out: writeLine };

/** `users=600,user=600,groups=500` → per-family budgets (requests per minute). */
export function parseRateLimits(value: string): OktaRateLimits {
  const limits: OktaRateLimits = {};
  for (const entry of value.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [name, count] = entry.split('=');
    const bucket = BUCKETS.find((b) => b === name?.trim());
    const limit = Number(count);
    if (!bucket || !Number.isInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(`expected ${BUCKETS.join('|')}=<requests per minute>, comma-separated; got "${entry}"`);
    }
    limits[bucket] = limit;
  }
  return limits;
}

/** Adds the `okta-emulator` command to `program`. */
export function registerOktaEmulatorCommand(program: Command, io: OktaEmulatorCommandIo = stdoutIo): void {
  const description = 'run the Okta Management API emulator (prints one JSON line with its URL and credentials)';
  emulatorCommand(program, 'okta-emulator', description)
    .option('--rate-limits <limits>', 'per-minute budgets, e.g. users=600,user=600,groups=500 (default: unlimited)', parseRateLimits)
    .action(async (opts: { port: number; host: string; rateLimits?: OktaRateLimits }) => {
      const keyId = randomUUID();
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const running = await startOktaEmulator({
        port: opts.port,
        host: opts.host,
        ...(opts.rateLimits ? { rateLimits: opts.rateLimits } : {}),
        serviceApps: [{ publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: keyId }, scopes: SERVICE_APP_SCOPES }],
      });
      io.out(JSON.stringify({
        orgUrl: running.baseUrl,
        token: running.token,
        serviceApp: {
          clientId: running.serviceAppIds[0],
          privateKeyJwk: { ...privateKey.export({ format: 'jwk' }), kid: keyId },
          keyId,
          scopes: SERVICE_APP_SCOPES,
        },
        admin: `${running.baseUrl}/__emulator`,
      }));
      closeOnSignal(running);
      io.onStarted?.(running);
    });
}
