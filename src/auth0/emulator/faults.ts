/**
 * Fault injection per endpoint (the shared rules of src/emulators/faults.ts: server errors before or after
 * the state change, added latency, timeouts, connection resets), plus the documented eventual consistency
 * of `GET /organizations/{id}/members` ("New users may not be immediately included in the response and
 * deleted users may not be immediately removed from it" — spec; removal "takes approximately 5–10
 * seconds" — docs:/manage-users/organizations/configure-organizations/remove-members).
 */
import { FaultInjector as SharedFaultInjector, type FaultTarget } from '../../emulators/faults.js';

/** The fault rules of one Auth0 emulator. Targets: `METHOD /path-template`, `POST /oauth/token`, `SCIM` or `*`. */
export class FaultInjector extends SharedFaultInjector {
  /** Delay before member additions/removals show in member lists (0 = immediately consistent). */
  memberListDelayMs = 0;

  /** Removes one target's rule, or every rule and the consistency delay. */
  override clear(target?: FaultTarget): void {
    super.clear(target);
    if (target === undefined) this.memberListDelayMs = 0;
  }
}
