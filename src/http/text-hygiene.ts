/**
 * Text PostgreSQL cannot store: it rejects U+0000 in `text` and `jsonb`, and an unpaired UTF-16
 * surrogate has no UTF-8 encoding. Either would reach the database as a 500, so every route refuses
 * it as the client's mistake (a 400) before any SQL runs.
 */

/** A NUL or an unpaired surrogate: in `u` mode a surrogate pair is one code point, so `\p{Cs}` matches only a lone half. */
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** `text` cut to `max` characters (with an ellipsis), never between the halves of a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Server-made text (an error message, a reason) as PostgreSQL can store it: no NUL, at most `max` characters. */
export function storableText(text: string, max: number): string {
  return cut(text.includes('\u0000') ? text.replaceAll('\u0000', '') : text, max);
}

/** True when `s` holds no NUL and no unpaired surrogate. */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/** True when every string in a parsed JSON value (keys included) is storable. */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(isStorableJson);
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key) || !isStorableJson(item)) return false;
  }
  return true;
}

/**
 * Checks a body just parsed from `raw` with `JSON.parse`. Decoded UTF-8 never holds an unpaired
 * surrogate (invalid sequences become U+FFFD) and JSON forbids a raw control character in a string,
 * so only a `\u` escape can produce what PostgreSQL refuses: bodies without one are not walked.
 */
export function isStorableBody(raw: string, parsed: unknown): boolean {
  return !raw.includes('\\u') || isStorableJson(parsed);
}

/** True when every value of a parsed query string or route params object is storable. */
export function isStorableRecord(record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return true;
  // for-in without allocating: this runs on every request (a null-prototype object has nothing inherited).
  for (const key in record) {
    const value = (record as Record<string, unknown>)[key];
    if (typeof value === 'string' ? !isStorableText(value) : Array.isArray(value) && !value.every((v) => typeof v !== 'string' || isStorableText(v))) return false;
  }
  return true;
}

export const TEXT_HYGIENE_MESSAGE = 'The request contains a NUL character or an unpaired UTF-16 surrogate, which this server cannot store';

/** A 400 any route's error handler renders in its own shape (`code` lets the SCIM one pick `invalidValue`). */
export class UnstorableTextError extends Error {
  override name = 'UnstorableTextError';
  readonly statusCode = 400;
  readonly code = 'PROVISIO_ERR_UNSTORABLE_TEXT';
  constructor(where: string) {
    super(`${TEXT_HYGIENE_MESSAGE} (${where})`);
  }
}
