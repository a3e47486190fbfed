/**
 * The Okta emulator's call log: the shared log of src/emulators/call-log.ts (the Auth0 emulator's too, so
 * `/__emulator/calls` reads the same on both), with what it keeps of a write's body here: its secrets
 * removed (`loggableBody`).
 */
/** The shared log under the name the emulator's context knows it by. */
export { CallLog as OktaCallLog } from '../../emulators/call-log.js';

/** Form fields of `/oauth2/v1/token` that are safe to keep (the signed assertion is a credential). */
const TOKEN_LOG_FIELDS = ['grant_type', 'scope', 'client_id', 'client_assertion_type'];
const REDACTED = '[redacted]';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A user body with `credentials.password.value` and `recovery_question.answer` replaced. */
function withoutCredentials(body: Record<string, unknown>): Record<string, unknown> {
  const credentials = body['credentials'];
  if (!isRecord(credentials)) return body;
  const out: Record<string, unknown> = { ...credentials };
  const password = credentials['password'];
  if (isRecord(password) && 'value' in password) out['password'] = { ...password, value: REDACTED };
  const recovery = credentials['recovery_question'];
  if (isRecord(recovery) && 'answer' in recovery) out['recovery_question'] = { ...recovery, answer: REDACTED };
  return { ...body, credentials: out };
}

/** What the log keeps of a write's body. */
export function loggableBody(operation: string | undefined, body: unknown): unknown {
  if (!isRecord(body)) return body;
  if (operation === 'POST /oauth2/v1/token') {
    return Object.fromEntries(Object.entries(body).filter(([k]) => TOKEN_LOG_FIELDS.includes(k)));
  }
  return withoutCredentials(body);
}
