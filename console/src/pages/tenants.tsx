import { useState } from 'preact/hooks';
import { api, enc, type Tenant, type TenantHealth } from '../api';
import { CopyField, ErrorNote, Section, time, usePoll } from '../components';
import { Shell } from './shell';

const PAGE = 100;

/** "5 min", "2 h": how long ago, for the sync's oldest waiting change. */
function age(iso: string): string {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60_000));
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/**
 * Every tenant with its health at a glance: last IdP request, error rate, directory size, sync backlog and how
 * old its oldest waiting change is. One request per hundred tenants (GET /tenant-health), not two per tenant.
 */
export function Tenants() {
  const [tenants, setTenants] = useState<TenantHealth[]>();
  const [more, setMore] = useState(false);
  const [wanted, setWanted] = useState(PAGE);
  const [error, setError] = useState<unknown>();

  usePoll(async () => {
    try {
      const shown: TenantHealth[] = [];
      let after: string | null = null;
      do {
        const query: string = `/tenant-health?limit=${PAGE}${after ? `&after=${enc(after)}` : ''}`;
        const page: { tenants: TenantHealth[]; next: string | null } = await api('GET', query);
        shown.push(...page.tenants);
        after = page.next;
      } while (after && shown.length < wanted);
      setTenants(shown);
      setMore(after !== null);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, 15_000, [wanted]);

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
                const rate = t.requests > 0 ? Math.round((t.errors / t.requests) * 1000) / 10 : undefined;
                const pending = t.sync.pending ?? 0;
                return (
                  <tr key={t.id}>
                    <td><a href={`/console/tenants/${enc(t.name)}`}>{t.displayName}</a><div class="muted small">{t.name}</div></td>
                    <td>{time(t.lastRequestAt)}</td>
                    <td>{rate === undefined ? '—' : <span class={rate >= 5 ? 'status warn' : ''}>{rate} % of {t.requests}</span>}</td>
                    <td>{`${t.users} / ${t.groups}`}</td>
                    <td>{!t.bound ? 'not bound to Auth0' : (
                      <>
                        {`${t.sync.synced ?? 0} synced, ${pending} pending`}
                        {t.oldestPendingAt ? <span class={Date.now() - Date.parse(t.oldestPendingAt) > 10 * 60_000 ? 'status warn' : ''}> (oldest {age(t.oldestPendingAt)})</span> : null}
                        {`, ${t.sync.failed ?? 0} failed${t.held ? `, ${t.held} held` : ''}`}
                      </>
                    )}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        {more ? <button type="button" onClick={() => setWanted(wanted + PAGE)}>Show {PAGE} more</button> : null}
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
