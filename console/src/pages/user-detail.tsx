import { useEffect, useState } from 'preact/hooks';
import { api, enc } from '../api';
import { ErrorNote, time } from '../components';

interface Because { name: string; because: string }
interface Explanation {
  user: { groups: string[] };
  desired?: { lifecycle: string; organizations: { name: string; because: string; roles: Because[] }[]; tenantRoles: Because[]; warnings: string[] };
  applied?: { status: string; auth0UserId: string | null; lastError: string | null };
}
interface TimelineEvent { at: string; kind: 'directory' | 'admin' | 'sync'; title: string; detail: string | null; status: number | null }

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
                <li key={i} class={`event ${e.kind}`}>
                  <span class="muted small">{time(e.at)}</span> <strong>{e.kind}</strong> {e.title}
                  {e.detail ? <div class="muted small">{e.detail}</div> : null}
                </li>
              ))}
            </ol>
          )}
        </div>
      ) : null}
    </div>
  );
}
