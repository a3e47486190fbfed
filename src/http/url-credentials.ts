/**
 * Credentials do not belong in a URL: proxies, browsers and our own request log keep URLs. A request that
 * carries one in its query string is refused (400) rather than served, so a misconfigured client learns
 * at once instead of leaking its token on every call, and the request log never shows the value.
 */

/** Query parameter names that carry credentials (OAuth's `access_token`, API keys, signatures…). */
const CREDENTIAL_NAME = /^(access[_-]?token|id[_-]?token|refresh[_-]?token|token|bearer|jwt|auth|authorization|api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|pwd|sig|signature|session|sessionid)$/i;
/** Values that are credentials whatever the parameter is called: our tokens, a JWT. */
const CREDENTIAL_VALUE = /^(prv_|pva_)|^eyJ[\w-]*\.[\w-]+\.[\w-]*$|^Bearer\s/i;

function looksLikeCredential(name: string, value: string): boolean {
  return CREDENTIAL_NAME.test(name) || CREDENTIAL_VALUE.test(value);
}

/** The name of the first query parameter that carries a credential, or undefined. */
export function credentialParameter(query: unknown): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && looksLikeCredential(name, v))) return name;
  }
  return undefined;
}

/** The error thrown for it; each API's error handler renders it in its own body (a 4xx `statusCode`). */
export class CredentialInUrlError extends Error {
  override name = 'CredentialInUrlError';
  readonly statusCode = 400;
  readonly code = 'CREDENTIAL_IN_URL';
  constructor(parameter: string) {
    super(`The query parameter "${parameter}" carries a credential: send it in the Authorization header, never in the URL (this request was refused and the value not logged)`);
  }
}

/** The URL for a log line: every credential-looking query value replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    const rawName = pair.slice(0, eq);
    const rawValue = pair.slice(eq + 1);
    let name = rawName;
    let value = rawValue;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      // Not decodable: judge the raw text.
    }
    return looksLikeCredential(name, value) ? `${rawName}=[redacted]` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
