import { useState } from 'preact/hooks';
import { api, enc, type ScimRequestStats, type Tenant, type TenantDetail } from '../api';
import { CopyField, ErrorNote, Section, time, usePoll } from '../components';
import { Shell } from './shell';

interface Health { detail?: TenantDetail; stats?: ScimRequestStats; error?: string }

/** Every tenant with its health at a glance: last IdP request, error rate, directory size, sync backlog. */
export function Tenants() {
  const [tenants, setTenants] = useState<Tenant[]>();
  const [health, setHealth] = useState<Record<string, Health>>({});
  const [error, setError] = useState<unknown>();

  usePoll(async () => {
    try {
      const list = (await api<{ tenants: Tenant[] }>('GET', '/tenants')).tenants;
      setTenants(list);
      setError(undefined);
      // One tenant's failure shows on its row; the others still load.
      const entries = await Promise.all(list.map(async (t): Promise<[string, Health]> => {
        try {
          const [detail, stats] = await Promise.all([
            api<TenantDetail>('GET', `/tenants/${enc(t.name)}`),
            api<ScimRequestStats>('GET', `/tenants/${enc(t.name)}/scim-requests/stats?hours=24`),
          ]);
          return [t.name, { detail, stats }];
        } catch (err) {
          return [t.name, { error: (err as Error).message }];
        }
      }));
      setHealth(Object.fromEntries(entries));
    } catch (err) {
      setError(err);
    }
  }, 15_000, []);

  return (
    <Shell title="Tenants">
      <p>Setting up? <a href="/console/auth0">Connect Auth0</a>: check the M2M application's scopes and deploy the Post-Login Action.</p>
      <ErrorNote error={error} />
      <CreateTenant />
      <Section title="All tenants">
        {tenants && tenants.length === 0 ? <p class="muted">No tenants yet: create the first one above.</p> : null}
        {tenants && tenants.length > 0 ? (
          <table class="tenants">
            <thead>
              <tr><th scope="col">Tenant</th><th scope="col">Last IdP request</th><th scope="col">Errors (24 h)</th><th scope="col">Users / groups</th><th scope="col">Sync</th></tr>
            </thead>
            <tbody>
              {tenants.map((t) => {
                const h = health[t.name];
                const counts = h?.detail?.sync.counts ?? {};
                const pending = (counts.pending ?? 0) + (counts.held ?? 0);
                const rate = h?.stats && h.stats.total > 0 ? Math.round((h.stats.errors / h.stats.total) * 1000) / 10 : undefined;
                return (
                  <tr key={t.id}>
                    <td><a href={`/console/tenants/${enc(t.name)}`}>{t.displayName}</a><div class="muted small">{t.name}</div></td>
                    <td>{h?.error ? <span class="error small">{h.error}</span> : time(h?.stats?.lastAt)}</td>
                    <td>{rate === undefined ? '—' : <span class={rate >= 5 ? 'status warn' : ''}>{rate} % of {h!.stats!.total}</span>}</td>
                    <td>{h?.detail ? `${h.detail.directory.users} / ${h.detail.directory.groups}` : '—'}</td>
                    <td>{!h?.detail ? '—' : !h.detail.bound ? 'not bound to Auth0' : `${counts.synced ?? 0} synced, ${pending} pending, ${counts.failed ?? 0} failed${h.detail.sync.held ? `, ${h.detail.sync.held} held` : ''}`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </Section>
    </Shell>
  );
}

function CreateTenant() {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [created, setCreated] = useState<{ name: string; scimBaseUrl: string; token: string }>();
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const res = await api<{ tenant: Tenant; scimBaseUrl: string; token: string }>('POST', '/tenants', { name: name.trim(), ...(displayName.trim() ? { displayName: displayName.trim() } : {}) });
      setCreated({ name: res.tenant.name, scimBaseUrl: res.scimBaseUrl, token: res.token });
      setName('');
      setDisplayName('');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="New tenant">
      <form class="inline" onSubmit={submit}>
        <label>Name (URL slug){' '}<input value={name} required pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} /></label>
        <label>Display name{' '}<input value={displayName} onInput={(e) => setDisplayName((e.currentTarget as HTMLInputElement).value)} /></label>
        <button type="submit">Create tenant</button>
      </form>
      <ErrorNote error={error} />
      {created ? (
        <div role="status">
          <p>Tenant <a href={`/console/tenants/${enc(created.name)}`}>{created.name}</a> created. Send its IT admin a setup link from its page, or give these to the IdP:</p>
          <CopyField id="new-url" label="SCIM base URL" value={created.scimBaseUrl} />
          <CopyField id="new-token" label="SCIM token (shown once)" value={created.token} />
        </div>
      ) : null}
    </Section>
  );
}
