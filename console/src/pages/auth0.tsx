import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, Section } from '../components';
import { Shell } from './shell';

interface ScopeFamily {
  family: string; label: string; neededFor: string; status: 'ok' | 'missing' | 'error'; missing: string[];
  scopes: { scope: string; status: 'granted' | 'missing' | 'error'; message?: string }[];
}
interface ScopeCheck { status: 'ok' | 'missing' | 'unauthorized' | 'error'; message: string; domain: string; clientId: string; families: ScopeFamily[] }
interface DeployResult { actionName: string; action: 'created' | 'updated' | 'unchanged'; versionNumber: number; deployed: boolean; bound: 'added' | 'already'; provisioUrl: string; bindings: string[] }

/**
 * The operator's first hour with Auth0: check an M2M application's scopes by asking Auth0 (one harmless
 * call per scope), then deploy the Post-Login Action from here. Credentials typed here are sent once to
 * the check and kept nowhere; Provisio's own tenant comes from AUTH0_DOMAIN/AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET.
 */
export function Auth0Page() {
  return (
    <Shell title="Connect Auth0" crumbs={<><a href="/console/tenants">Tenants</a> / Auth0</>}>
      <ScopeCheckForm />
      <DeployAction />
    </Shell>
  );
}

function ScopeCheckForm() {
  const [domain, setDomain] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [result, setResult] = useState<ScopeCheck>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const check = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      const typed = domain.trim() !== '' || clientId.trim() !== '' || clientSecret !== '';
      setResult(await api<ScopeCheck>('POST', '/auth0/check', typed ? { domain: domain.trim(), clientId: clientId.trim(), clientSecret } : {}));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Machine-to-machine application">
      <p class="muted">Leave the fields empty to check the Auth0 tenant this server uses. Each scope is checked with a call that needs it and changes nothing, so the answer is Auth0's own.</p>
      <form class="grid-form" onSubmit={check}>
        <label for="auth0-domain">Domain</label>
        <input id="auth0-domain" placeholder="your-tenant.eu.auth0.com" value={domain} onInput={(e) => setDomain((e.currentTarget as HTMLInputElement).value)} />
        <label for="auth0-client-id">Client ID</label>
        <input id="auth0-client-id" value={clientId} onInput={(e) => setClientId((e.currentTarget as HTMLInputElement).value)} />
        <label for="auth0-client-secret">Client secret</label>
        <input id="auth0-client-secret" type="password" autoComplete="off" value={clientSecret} onInput={(e) => setClientSecret((e.currentTarget as HTMLInputElement).value)} />
        <span />
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Check scopes'}</button>
      </form>
      <ErrorNote error={error} />
      {result ? (
        <div role="status">
          <p class={result.status === 'ok' ? 'ok-note' : 'notice'}><strong>{result.status === 'ok' ? 'Every scope Provisio needs is granted.' : result.message}</strong> ({result.domain}, client {result.clientId})</p>
          {result.families.length > 0 ? (
            <table class="scopes">
              <thead><tr><th scope="col">What</th><th scope="col">Needed for</th><th scope="col">Result</th></tr></thead>
              <tbody>
                {result.families.map((f) => (
                  <tr key={f.family} data-status={f.status}>
                    <td>{f.label}</td>
                    <td class="small">{f.neededFor}</td>
                    <td>
                      {f.status === 'ok' ? <span class="status ok">granted</span> : null}
                      {f.status === 'missing' ? <span class="status warn">missing: {f.missing.join(', ')}</span> : null}
                      {f.status === 'error' ? <span class="status bad">could not check</span> : null}
                      {f.scopes.filter((s) => s.status === 'error' && s.message).map((s) => <div key={s.scope} class="error small">{s.scope}: {s.message}</div>)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </Section>
  );
}

function DeployAction() {
  const [publicUrl, setPublicUrl] = useState(location.origin);
  const [failMode, setFailMode] = useState<'closed' | 'open'>('closed');
  const [result, setResult] = useState<DeployResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const deploy = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api<DeployResult>('POST', '/auth0/action/deploy', { publicUrl: publicUrl.trim(), failMode }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Post-Login Action">
      <p class="muted">Creates or updates the Action that asks Provisio at every login, sets its secrets, deploys it and adds it to the Login flow — safe to run again: nothing changes when nothing differs.</p>
      <form class="grid-form" onSubmit={deploy}>
        <label for="action-url">Provisio's public URL (what Auth0 calls)</label>
        <input id="action-url" value={publicUrl} onInput={(e) => setPublicUrl((e.currentTarget as HTMLInputElement).value)} />
        <label for="action-fail-mode">When Provisio cannot be reached</label>
        <select id="action-fail-mode" value={failMode} onChange={(e) => setFailMode((e.currentTarget as HTMLSelectElement).value as 'closed' | 'open')}>
          <option value="closed">deny the login (closed)</option>
          <option value="open">let the login through (open)</option>
        </select>
        <span />
        <button type="submit" disabled={busy}>{busy ? 'Deploying…' : 'Deploy the Post-Login Action'}</button>
      </form>
      <ErrorNote error={error} />
      {result ? (
        <p role="status">
          Action <code>{result.actionName}</code> {result.action}{result.deployed ? `, version ${result.versionNumber} deployed` : ', already deployed'},
          {result.bound === 'added' ? ' added to' : ' already in'} the Login flow{result.bindings.length > 0 ? ` (after ${result.bindings.join(', ')})` : ''}; it calls {result.provisioUrl}.
        </p>
      ) : null}
    </Section>
  );
}
