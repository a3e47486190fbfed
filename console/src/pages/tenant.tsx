import { useRoute } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api, enc, type ScimRequest, type ScimRequestStats, type SetupLinkInfo, type TenantDetail, type TokenInfo } from '../api';
import { CopyField, ErrorNote, LagChart, RequestChart, RequestTable, Section, time, usePoll } from '../components';
import { Shell } from './shell';
import { UsersTable } from './users';
import { RulesPreview } from './rules';
import { BindingEditor } from './binding';

/** One tenant, for the operator: connection, setup links, SCIM tokens, activity, users, sync and its guard. */
export function TenantPage() {
  const { params } = useRoute();
  const name = params.name ?? '';
  const [detail, setDetail] = useState<TenantDetail>();
  const [error, setError] = useState<unknown>();
  const reload = async () => {
    try {
      setDetail(await api<TenantDetail>('GET', `/tenants/${enc(name)}`));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  usePoll(reload, 10_000, [name]);

  return (
    <Shell title={detail ? detail.tenant.displayName : name} crumbs={<><a href="/console/tenants">Tenants</a> / {name}</>}>
      <ErrorNote error={error} />
      {detail ? (
        <>
          <Section title="Connection">
            <CopyField id="scim-url" label="SCIM base URL" value={detail.tenant.scimBaseUrl ?? ''} />
            <p>{detail.directory.users} users and {detail.directory.groups} groups received. {detail.bound ? 'Bound to Auth0.' : 'Not bound to Auth0 yet (provisio tenant bind).'} IdP dialect: {detail.tenant.scimDialect}.</p>
          </Section>
          <SetupLinks tenant={name} />
          <ScimTokens tenant={name} />
          <Activity tenant={name} />
          <SyncGuard tenant={name} detail={detail} onChange={reload} />
          <BindingEditor tenant={name} bound={detail.bound} onSaved={reload} />
          <Section title="Users"><UsersTable tenant={name} /></Section>
          {detail.bound ? <RulesPreview tenant={name} /> : null}
        </>
      ) : null}
    </Shell>
  );
}

function SetupLinks({ tenant }: { tenant: string }) {
  const [links, setLinks] = useState<SetupLinkInfo[]>([]);
  const [expiresIn, setExpiresIn] = useState('7d');
  const [created, setCreated] = useState<string>();
  const [error, setError] = useState<unknown>();
  const load = async () => setLinks((await api<{ setupLinks: SetupLinkInfo[] }>('GET', `/tenants/${enc(tenant)}/setup-links`)).setupLinks);
  usePoll(() => load().catch(setError), 30_000, [tenant]);
  const create = async () => {
    setError(undefined);
    try {
      const res = await api<{ url: string }>('POST', `/tenants/${enc(tenant)}/setup-links`, { expiresIn });
      setCreated(res.url);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    if (!confirm('Revoke this setup link? Whoever has it loses access at once.')) return;
    try {
      await api('DELETE', `/tenants/${enc(tenant)}/setup-links/${enc(id)}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="Setup links">
      <p class="muted">A setup link lets the customer's IT admin connect their IdP themselves: this tenant only, until it expires or you revoke it.</p>
      <div class="inline">
        <label>Valid for{' '}
          <select value={expiresIn} onChange={(e) => setExpiresIn((e.currentTarget as HTMLSelectElement).value)}>
            <option value="24h">1 day</option><option value="7d">7 days</option><option value="30d">30 days</option>
          </select>
        </label>
        <button type="button" onClick={create}>Create setup link</button>
      </div>
      <ErrorNote error={error} />
      {created ? <><CopyField id="setup-link-url" label="Setup link (shown once)" value={created} /><p class="notice small" role="status">Send this link to the customer's IT admin. It is shown once.</p></> : null}
      {links.length > 0 ? (
        <table>
          <thead><tr><th scope="col">Link</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {links.map((l) => (
              <tr key={l.id}>
                <td><code>{l.prefix}…</code> {l.label}</td><td>{l.status}</td><td>{time(l.expiresAt)}</td><td>{time(l.lastUsedAt)}</td>
                <td>{l.status === 'active' ? <button type="button" class="danger" onClick={() => void revoke(l.id)}>Revoke</button> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function ScimTokens({ tenant }: { tenant: string }) {
  const [tokens, setTokens] = useState<TokenInfo[]>([]);
  const [shown, setShown] = useState<string>();
  const [error, setError] = useState<unknown>();
  const load = async () => setTokens((await api<{ tokens: TokenInfo[] }>('GET', `/tenants/${enc(tenant)}/scim-tokens`)).tokens);
  usePoll(() => load().catch(setError), 30_000, [tenant]);
  const act = async (fn: () => Promise<{ token?: string } | undefined>) => {
    setError(undefined);
    try {
      const res = await fn();
      if (res?.token) setShown(res.token);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="SCIM tokens" actions={<button type="button" onClick={() => void act(() => api('POST', `/tenants/${enc(tenant)}/scim-tokens`, { label: 'console' }))}>Issue token</button>}>
      <ErrorNote error={error} />
      {shown ? <CopyField id="issued-token" label="New token (shown once)" value={shown} /> : null}
      <table>
        <thead><tr><th scope="col">Token</th><th scope="col">Status</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id}>
              <td><code>{t.prefix}…</code> {t.label}</td><td>{t.status}</td><td>{time(t.lastUsedAt)}</td><td>{t.expiresAt ? time(t.expiresAt) : 'never'}</td>
              <td>
                {t.status === 'active' ? (
                  <>
                    <button type="button" onClick={() => void act(() => api('POST', `/tenants/${enc(tenant)}/scim-tokens/${enc(t.id)}/rotate`, {}))}>Rotate</button>{' '}
                    <button type="button" class="danger" onClick={() => confirm('Revoke this token? The IdP using it gets 401 at once.') && void act(() => api('DELETE', `/tenants/${enc(tenant)}/scim-tokens/${enc(t.id)}`))}>Revoke</button>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Activity({ tenant }: { tenant: string }) {
  const [stats, setStats] = useState<ScimRequestStats>();
  const [requests, setRequests] = useState<ScimRequest[]>([]);
  const [errorsOnly, setErrorsOnly] = useState(false);
  const [error, setError] = useState<unknown>();
  usePoll(async () => {
    try {
      const [s, page] = await Promise.all([
        api<ScimRequestStats>('GET', `/tenants/${enc(tenant)}/scim-requests/stats?hours=6`),
        api<{ requests: ScimRequest[] }>('GET', `/tenants/${enc(tenant)}/scim-requests?limit=50${errorsOnly ? '&errors=true' : ''}`),
      ]);
      setStats(s);
      setRequests(page.requests);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, 5000, [tenant, errorsOnly]);
  return (
    <Section title="Recent SCIM requests">
      <ErrorNote error={error} />
      {stats ? <RequestChart perMinute={stats.perMinute} hours={6} /> : null}
      <label class="inline"><input type="checkbox" checked={errorsOnly} onChange={(e) => setErrorsOnly((e.currentTarget as HTMLInputElement).checked)} /> Only refused requests</label>
      <RequestTable requests={requests} empty="No SCIM requests recorded yet." />
    </Section>
  );
}

function SyncGuard({ tenant, detail, onChange }: { tenant: string; detail: TenantDetail; onChange: () => Promise<void> }) {
  const [error, setError] = useState<unknown>();
  const [released, setReleased] = useState<number>();
  const [retried, setRetried] = useState<number>();
  const [lag, setLag] = useState<{ minute: string; synced: number; p50Ms: number; maxMs: number }[]>();
  usePoll(async () => {
    if (detail.bound) setLag((await api<{ perMinute: { minute: string; synced: number; p50Ms: number; maxMs: number }[] }>('GET', `/tenants/${enc(tenant)}/sync/lag?hours=6`)).perMinute);
  }, 30_000, [tenant, detail.bound]);
  if (!detail.bound) return null;
  const failed = detail.sync.counts.failed ?? 0;
  const retry = async () => {
    try {
      setRetried((await api<{ retried: number }>('POST', `/tenants/${enc(tenant)}/sync/retry`, {})).retried);
      await onChange();
    } catch (err) {
      setError(err);
    }
  };
  const release = async () => {
    if (!confirm(`Release ${detail.sync.held} held deprovisioning(s)? Those users lose access in Auth0.`)) return;
    try {
      setReleased((await api<{ released: number }>('POST', `/tenants/${enc(tenant)}/sync/release`, {})).released);
      await onChange();
    } catch (err) {
      setError(err);
    }
  };
  const counts = Object.entries(detail.sync.counts);
  return (
    <Section title="Sync to Auth0">
      <p>{counts.length === 0 ? 'No users yet.' : counts.map(([status, n]) => `${n} ${status}`).join(', ')}</p>
      {lag ? <LagChart perMinute={lag} hours={6} /> : null}
      {detail.sync.held > 0 ? (
        <div class="notice" role="status">
          <p><strong>{detail.sync.held} deprovisioning(s) are held</strong> by the mass-deprovisioning guard: the IdP removed or deactivated more users at once than the guard allows. Nothing has changed in Auth0 for them yet.</p>
          <button type="button" class="danger" onClick={release}>Release {detail.sync.held} held</button>
        </div>
      ) : null}
      {released !== undefined ? <p role="status">{released} released.</p> : null}
      {failed > 0 ? <p>{failed} user(s) failed to sync (the Users list below shows why). <button type="button" onClick={retry}>Retry {failed} failed</button></p> : null}
      {retried !== undefined ? <p role="status">{retried} queued again.</p> : null}
      <ErrorNote error={error} />
    </Section>
  );
}
