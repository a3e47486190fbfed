import { loadSession } from './session';

/** An admin API error: its status and the server's own message (which is written for people). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

/** Calls `/v1/admin<path>` with the session's credential (or `token`). */
export async function api<T>(method: string, path: string, body?: unknown, token = loadSession()?.token): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/v1/admin${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new ApiError(0, 'network', `Provisio did not answer (${(err as Error).name === 'TimeoutError' ? 'timed out' : 'network error'}). Check your connection and try again.`);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const err = (parsed ?? {}) as { code?: string; message?: string };
    throw new ApiError(response.status, err.code ?? 'error', err.message ?? `Provisio answered ${response.status}`);
  }
  return parsed as T;
}

export const enc = encodeURIComponent;

// The admin API's shapes the console reads (docs/admin-api.md; the OpenAPI document at /docs).
export interface Me { kind: 'operator' | 'org-admin'; tenant: string | null; actor: string }
export interface Tenant { id: string; name: string; displayName: string; createdAt: string; scimDialect: string; scimBaseUrl?: string }
/** One row of GET /tenant-health. */
export interface TenantHealth {
  id: string; name: string; displayName: string; bound: boolean; users: number; groups: number;
  sync: Record<string, number>; held: number; oldestPendingAt: string | null; requests: number; errors: number; lastRequestAt: string | null;
}
export interface TenantDetail { tenant: Tenant; bound: boolean; sync: { counts: Record<string, number>; held: number }; directory: { users: number; groups: number } }
export interface TokenInfo { id: string; label: string; prefix: string; scopes?: string[]; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null; status: 'active' | 'expired' | 'revoked' }
export interface SetupLinkInfo extends TokenInfo { tenant: string; expiresAt: string }
export interface ScimRequest {
  id: string; at: string; tokenId: string | null; sourceIp: string | null; method: string; path: string; status: number; latencyMs: number;
  dialect: string | null; resourceType: string | null; resourceId: string | null; scimType: string | null; errorDetail: string | null; summary: string | null;
  /** 1, or the successful reads over the per-second listing budget counted in this row. */
  requests: number;
}
export interface ScimRequestPage { requests: ScimRequest[]; next: string | null }
export interface ScimRequestStats { total: number; errors: number; lastAt: string | null; perMinute: { minute: string; requests: number; errors: number }[] }
export interface UserSummary {
  id: string; userName: string; externalId: string | null; email: string | null; displayName: string | null; active: boolean;
  sync: { status: string; auth0UserId: string | null; syncedAt: string | null; lastError: string | null } | null;
  override: { blocked: boolean; removedFromOrg: boolean; by: string; at: string } | null;
}
