/**
 * RFC 7240 `Prefer: return=minimal | return=representation`, for the answer to a PATCH (RFC 7644 §3.5.2
 * allows 200 with the resource or 204 without a body). Preferences are comma-separated, tokens are
 * case-insensitive, and one the server does not know is ignored.
 */
export type ReturnPreference = 'minimal' | 'representation';

export function returnPreference(prefer: string | undefined): ReturnPreference | undefined {
  if (!prefer) return undefined;
  for (const part of prefer.split(',')) {
    const [name, value] = part.split(';')[0]!.split('=').map((s) => s.trim().toLowerCase().replace(/^"(.*)"$/, '$1'));
    if (name === 'return' && (value === 'minimal' || value === 'representation')) return value;
  }
  return undefined;
}
