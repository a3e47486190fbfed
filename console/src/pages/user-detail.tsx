import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, enc } from '../api';
import { ErrorNote, time } from '../components';

interface Because { name: string; because: string }
interface Explanation {
  user: { groups: string[] };
  desired?: { lifecycle: string; organizations: { name: string; because: string; roles: Because[] }[]; tenantRoles: Because[]; warnings: string[] };
  applied?: { status: string; auth0UserId: string | null; lastError: string | null };
}
/** One Auth0 Management API call of a sync run or login (never ids or bodies: the path is a template). */
interface Auth0Call { operation: string; status: number | null; failure: string | null; durationMs: number; atMs: number; batchedUsers?: number }
interface TimelineEvent {
  at: string; kind: 'directory' | 'admin' | 'sync' | 'login' | 'okta'; title: string; detail: string | null; status: number | null;
  outcome?: string; durationMs?: number | null; organization?: { id: string; name: string } | null; connection?: string | null;
  calls?: Auth0Call[]; callsOmitted?: number;
}

/** Outcomes that went wrong: drawn in red, and always said in words too. */
const BAD_OUTCOMES = new Set(['failed', 'denied', 'held']);

/**
 * A call that did not get what it asked for: no answer, a 429, a 5xx, a refusal. A 404 or 409 is an answer the
 * sync acts on (no such user yet, already exists: src/auth0/gateway.ts), not a failure.
 */
function callFailed(c: Auth0Call): boolean {
  return c.status === null || (c.status >= 400 && c.status !== 404 && c.status !== 409);
}

/** The Auth0 calls of a run or login, folded: a count in the summary, each call (method, path template, status, time) inside. */
function Auth0Calls({ calls, omitted, durationMs, what, sink = 'Auth0' }: { calls: Auth0Call[]; omitted: number; durationMs: number | null | undefined; what: string; sink?: string }) {
  const failed = calls.filter(callFailed).length;
  const total = calls.length + omitted;
  // The server keeps the first and the last calls of a long run; the ones it only counted were between them.
  const gapAt = omitted > 0 ? calls.length - Math.min(5, calls.length) : -1;
  return (
    <details class="calls small">
      <summary>
        {total} {sink} call{total === 1 ? '' : 's'}{failed > 0 ? `, ${failed} failed` : ''}{durationMs != null ? `; the ${what} took ${durationMs} ms` : ''}
      </summary>
      <ol>
        {calls.map((c, i) => (
          <Fragment key={i}>
            {i === gapAt ? <li class="muted">… {omitted} more call{omitted === 1 ? '' : 's'} not kept</li> : null}
            <li class={callFailed(c) ? 'failed' : undefined}>
              <code>{c.operation}</code>{' → '}
              <span>{c.status ?? c.failure}{callFailed(c) ? ' (failed)' : ''}</span>
              <span class="muted">, {c.durationMs} ms{c.batchedUsers ? `, one request for ${c.batchedUsers} users` : ''}</span>
            </li>
          </Fragment>
        ))}
      </ol>
    </details>
  );
}

/** One user: why they have what they have in Auth0, and what happened to them (the timeline). */
export function UserDetail({ tenant, id, onRetried }: { tenant: string; id: string; onRetried: () => void }) {
  const [explanation, setExplanation] = useState<Explanation>();
  const [events, setEvents] = useState<TimelineEvent[]>();
  const [error, setError] = useState<unknown>();
  const [retried, setRetried] = useState(false);
  useEffect(() => {
    Promise.all([
      api<{ explanation: Explanation }>('GET', `/tenants/${enc(tenant)}/users/${enc(id)}`),
      api<{ events: TimelineEvent[] }>('GET', `/tenants/${enc(tenant)}/users/${enc(id)}/timeline`),
    ]).then(([user, timeline]) => {
      setExplanation(user.explanation);
      setEvents(timeline.events);
    }).catch(setError);
  }, [tenant, id]);

  const retry = async () => {
    try {
      await api('POST', `/tenants/${enc(tenant)}/sync/retry`, { userIds: [id] });
      setRetried(true);
      onRetried();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="user-detail">
      <ErrorNote error={error} />
      {explanation ? (
        <div>
          <h3>Why this user has what they have</h3>
          <p>Groups: {explanation.user.groups.length > 0 ? explanation.user.groups.join(', ') : 'none'}.</p>
          {explanation.desired ? (
            <ul>
              <li>{explanation.desired.lifecycle}</li>
              {explanation.desired.organizations.map((o) => (
                <li key={o.name}>Organization {o.name}: {o.because}
                  {o.roles.length > 0 ? <ul>{o.roles.map((r) => <li key={r.name}>role {r.name}: {r.because}</li>)}</ul> : null}
                </li>
              ))}
              {explanation.desired.tenantRoles.map((r) => <li key={r.name}>tenant role {r.name}: {r.because}</li>)}
              {explanation.desired.warnings.map((w) => <li key={w} class="error">{w}</li>)}
            </ul>
          ) : <p class="muted">Not bound to Auth0: nothing is synced yet.</p>}
          {explanation.applied?.status === 'failed' ? (
            <p>{retried ? <span role="status">Queued again.</span> : <button type="button" onClick={retry}>Retry the sync</button>}</p>
          ) : null}
        </div>
      ) : null}
      {events ? (
        <div>
          <h3>Timeline</h3>
          {events.length === 0 ? <p class="muted">Nothing recorded yet.</p> : (
            <ol class="timeline">
              {events.map((e, i) => (
                <li key={i} class={`event ${e.kind}${e.outcome && BAD_OUTCOMES.has(e.outcome) ? ' bad' : ''}`}>
                  <span class="muted small">{time(e.at)}</span> <strong>{e.kind}</strong> {e.title}
                  {e.kind === 'login' && (e.organization || e.connection) ? (
                    <div class="muted small">
                      {e.organization ? `organization ${e.organization.name}` : 'no organization'}{e.connection ? `, connection ${e.connection}` : ''}
                    </div>
                  ) : null}
                  {e.detail ? <div class="muted small">{e.detail}</div> : null}
                  {e.calls && e.calls.length > 0 ? <Auth0Calls calls={e.calls} omitted={e.callsOmitted ?? 0} durationMs={e.durationMs} what={e.kind === 'login' ? 'decision' : 'run'} sink={e.kind === 'okta' ? 'Okta' : 'Auth0'} /> : null}
                </li>
              ))}
            </ol>
          )}
        </div>
      ) : null}
    </div>
  );
}
