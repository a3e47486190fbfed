/**
 * The official `auth0` SDK module, for code that must tell its errors apart without loading it.
 *
 * Importing the SDK costs about 45 MB of RSS and half a second of start-up (a second under the test
 * runner's TypeScript loader). A process that never calls Auth0 (no tenant bound yet, the CLI's other
 * commands, most test files) should not pay that, so only `client.ts` and `scope-check.ts` import it, and
 * they are themselves imported on first use (`Auth0Gateway.fromSettings`, the admin routes, the CLI).
 */
import type * as Auth0Sdk from 'auth0';

let loaded: typeof Auth0Sdk | undefined;

/** Called by the modules that import the SDK, as they load. */
export function noteAuth0SdkLoaded(sdk: typeof Auth0Sdk): void {
  loaded = sdk;
}

/** The SDK once some module has loaded it; until then nothing can have thrown one of its errors. */
export function loadedAuth0Sdk(): typeof Auth0Sdk | undefined {
  return loaded;
}
