/**
 * The console's credential, kept in sessionStorage: it lives as long as the tab, is never sent anywhere
 * but our own admin API, and a setup link's secret never stays in the address bar.
 */
export type SessionKind = 'operator' | 'org-admin';

export interface Session {
  readonly token: string;
  /** Set once /v1/admin/me has answered. */
  readonly kind?: SessionKind;
  readonly tenant?: string | null;
  /** Opened from a customer setup link. */
  readonly setupLink?: boolean;
}

const KEY = 'provisio.console.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
