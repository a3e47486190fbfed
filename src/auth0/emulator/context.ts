/** The collaborators every emulator route needs, created once per emulator instance. */
import type { CallLog } from './call-log.js';
import type { FaultInjector } from './faults.js';
import type { RateLimiter } from './rate-limit.js';
import type { EmulatorState } from './state.js';

export interface EmulatorSettings {
  /** Management API access-token lifetime (docs: 86,400 s by default). */
  tokenLifetimeSec: number;
  /** How long an Action's draft takes to build after a create or PATCH (0: at once); deploy refuses until then. */
  actionBuildMs: number;
}

export interface EmulatorContext {
  readonly state: EmulatorState;
  readonly limiter: RateLimiter;
  readonly faults: FaultInjector;
  readonly calls: CallLog;
  readonly settings: EmulatorSettings;
  /** Clock (ms epoch); injectable so tests can move time. */
  now(): number;
  /** Public base URL (`https://<domain>` as the SDK sees it) used in ticket and invitation URLs. */
  issuer(): string;
}
