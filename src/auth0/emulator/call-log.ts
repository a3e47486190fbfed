/**
 * The Auth0 emulator's call log: the shared log of src/emulators/call-log.ts, with what it keeps of a
 * write's body here.
 */
export { CallLog, type CallRecord } from '../../emulators/call-log.js';

/** Fields of `/oauth/token` bodies that are safe to keep in the call log. */
const TOKEN_LOG_FIELDS = ['grant_type', 'client_id', 'audience', 'scope'];

/** What the log keeps of a write's body: no client secret, password or Action secret value. */
export function loggableBody(operation: string | undefined, body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  if (operation === 'POST /oauth/token') {
    return Object.fromEntries(Object.entries(body).filter(([k]) => TOKEN_LOG_FIELDS.includes(k)));
  }
  if (operation === 'POST /u/login') return { username: (body as Record<string, unknown>)['username'] };
  // Action secret values are never given back by the API: not by the call log either (names are kept).
  const secrets: unknown = (body as Record<string, unknown>)['secrets'];
  if (operation?.includes('/actions/') && Array.isArray(secrets)) {
    return { ...body, secrets: secrets.map((s: unknown) => (typeof s === 'object' && s !== null && 'value' in s ? { ...s, value: '[redacted]' } : s)) };
  }
  return body;
}
