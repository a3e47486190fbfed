/**
 * What the Okta SDK throws, classified into the two kinds the mirror's worker acts on. Apart from
 * src/okta/gateway.ts so that the worker, the planner and the resolver do not load the SDK (about 90 MB of
 * RSS) in a process where no tenant binds Okta.
 */

/** A failure worth trying again later (5xx, 429 beyond the wait, timeout, connection lost). */
export class OktaRetryableError extends Error {
  override readonly name = 'OktaRetryableError';
  constructor(readonly operation: string, readonly status: number | undefined, message: string) {
    super(message);
  }
}

/** A 4xx that will fail the same way again (bad profile, missing permission, bad credentials …). */
export class OktaPermanentError extends Error {
  override readonly name = 'OktaPermanentError';
  constructor(readonly operation: string, readonly status: number, readonly errorCode: string | undefined, message: string) {
    super(message);
  }
}

export interface SdkError {
  status?: number;
  errorCode?: string;
  errorSummary?: string;
  errorCauses?: { errorSummary?: string }[];
  message?: string;
}

/** Turns what the SDK throws into the two kinds the worker acts on; messages carry Okta's summary and causes, never credentials. */
export function classifyOktaError(operation: string, err: unknown): OktaRetryableError | OktaPermanentError {
  if (err instanceof OktaRetryableError || err instanceof OktaPermanentError) return err;
  const e = (err ?? {}) as SdkError;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const causes = e.errorCauses?.map((c) => c.errorSummary).filter(Boolean).join('; ');
  const summary = [e.errorCode, e.errorSummary || undefined, causes || undefined].filter(Boolean).join(' ') || (e.message ?? String(err)).slice(0, 300);
  if (status === undefined || status === 408 || status === 429 || status >= 500) return new OktaRetryableError(operation, status, `Okta ${operation}: ${status ?? 'no answer'} ${summary}`);
  const hint = status === 401 ? ' (check the binding\'s credentials: `provisio okta show`)' : status === 403 ? ' (the token\'s admin or the service app lacks a permission or scope: okta.users.manage, okta.groups.manage)' : '';
  return new OktaPermanentError(operation, status, e.errorCode, `Okta ${operation}: ${status} ${summary}${hint}`);
}

