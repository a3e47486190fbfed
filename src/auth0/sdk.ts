/**
 * The official `auth0` SDK module, for code that must tell its errors apart without loading it.
 *
 * Importing the SDK costs 15-20 MB of an idle server's RSS and half a second of start-up (a second under
 * the test runner's TypeScript loader). A process that never calls Auth0 (no tenant bound yet, the CLI's other
 * commands, most test files) should not pay that, so only `client.ts` and `scope-check.ts` import it, and
 * they are themselves imported on first use (`Auth0Gateway.fromSettings`, the admin routes, the CLI).
 */
import type * as Auth0Sdk from 'auth0';

type Sdk = typeof Auth0Sdk;

/**
 * The SDK modules loaded so far (one in the server). Kept on `globalThis` rather than in this module: a
 * CommonJS caller (the tests under action/) can load this module and the SDK a second time beside the ESM
 * ones, and an error thrown by either SDK must be recognised by either copy of this module.
 */
const REGISTRY = Symbol.for('provisio.auth0-sdk-modules');
const registry: Set<Sdk> = ((globalThis as { [REGISTRY]?: Set<Sdk> })[REGISTRY] ??= new Set<Sdk>());

/** Called by the modules that import the SDK, as they load. */
export function noteAuth0SdkLoaded(sdk: Sdk): void {
  registry.add(sdk);
}

/** `err` as the SDK's `ManagementError`, or undefined; nothing can be one before some module loaded the SDK. */
export function asManagementError(err: unknown): Auth0Sdk.ManagementError | undefined {
  for (const sdk of registry) if (err instanceof sdk.ManagementError) return err;
  return undefined;
}

/** Whether `err` is the SDK's `ManagementTimeoutError`. */
export function isManagementTimeoutError(err: unknown): boolean {
  for (const sdk of registry) if (err instanceof sdk.ManagementTimeoutError) return true;
  return false;
}

/** Whether any module has loaded the SDK yet. */
export function auth0SdkLoaded(): boolean {
  return registry.size > 0;
}
