import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, type Me, type ScimRequest, type ScimRequestPage, type TenantDetail, type TokenInfo } from '../api';
import { CopyField, ErrorNote, RequestTable, Section, usePoll } from '../components';
import { GUIDES, guide, type Guide } from '../idp-guides';
import { loadSession, saveSession } from '../session';
import { Shell } from './shell';
import { UsersTable } from './users';
import { RulesPreview } from './rules';

const IDP_KEY = 'provisio.console.idp';
const STEP_KEY = 'provisio.console.step';

/**
 * The customer's IT admin's page, opened from a setup link (`/console/setup#pvl_…`): choose the IdP, paste
 * the values with a token generated here, and watch the first requests arrive. Everything it does goes
 * through the admin API with the link's delegated credential, which reaches this one tenant only.
 */
export function Setup() {
  const [me, setMe] = useState<Me>();
  const [failure, setFailure] = useState<unknown>();

  useEffect(() => {
    const secret = /^#(pvl_[A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
    if (secret) {
      saveSession({ token: secret, setupLink: true });
      // The secret leaves the address bar (and the history) before anything else runs.
      history.replaceState(null, '', '/console/setup');
    }
    const session = loadSession();
    if (!session) return setFailure(new ApiError(401, 'unauthorized', 'Open this page from the setup link you were sent: the link carries your access.'));
    api<Me>('GET', '/me')
      .then((who) => {
        if (who.kind !== 'org-admin' || !who.tenant) {
          // An operator opening the setup page lands on the tenant list instead.
          location.assign('/console/tenants');
          return;
        }
        saveSession({ ...session, kind: who.kind, tenant: who.tenant });
        setMe(who);
      })
      .catch(setFailure);
  }, []);

  if (failure) {
    return (
      <Shell title="This setup link cannot be used">
        <ErrorNote error={failure} />
        <p>Setup links expire, and whoever sent it can revoke it. Ask them for a new link; nothing you already set up is lost.</p>
      </Shell>
    );
  }
  if (!me) return <Shell title="Connect your identity provider"><p aria-busy="true">Checking your link…</p></Shell>;
  return <SetupFor tenant={me.tenant!} />;
}

type Tab = 'connect' | 'users' | 'roles';

function SetupFor({ tenant }: { tenant: string }) {
  const [detail, setDetail] = useState<TenantDetail>();
  const [error, setError] = useState<unknown>();
  const [tab, setTab] = useState<Tab>('connect');
  usePoll(async () => {
    try {
      setDetail(await api<TenantDetail>('GET', `/tenants/${enc(tenant)}`));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, 3000, [tenant]);

  const title = detail ? `Connect ${detail.tenant.displayName} to single sign-on` : 'Connect your identity provider';
  return (
    <Shell title={title}>
      <ErrorNote error={error} />
      <nav class="tabs" aria-label="Setup sections">
        {(['connect', 'users', 'roles'] as const).map((t) => (
          <button type="button" key={t} aria-current={tab === t ? 'page' : undefined} onClick={() => setTab(t)}>
            {{ connect: 'Connection', users: 'Users and sync', roles: 'Roles' }[t]}
          </button>
        ))}
      </nav>
      {tab === 'connect' && detail ? <Connect tenant={tenant} detail={detail} /> : null}
      {tab === 'users' ? <Section title="Users"><UsersTable tenant={tenant} /></Section> : null}
      {tab === 'roles' ? <RulesPreview tenant={tenant} /> : null}
    </Shell>
  );
}

function Connect({ tenant, detail }: { tenant: string; detail: TenantDetail }) {
  const [idp, setIdp] = useState<string | undefined>(() => sessionStorage.getItem(IDP_KEY) ?? undefined);
  const [step, setStep] = useState<number>(() => Number(sessionStorage.getItem(STEP_KEY) ?? '1'));
  const choose = (id: string) => {
    sessionStorage.setItem(IDP_KEY, id);
    setIdp(id);
    go(2);
  };
  const go = (n: number) => {
    sessionStorage.setItem(STEP_KEY, String(n));
    setStep(n);
  };
  const chosen = guide(idp);
  return (
    <>
      <ol class="steps" aria-label="Progress">
        {['Choose your identity provider', 'Enter the values', 'Test the connection'].map((label, i) => (
          <li key={label} aria-current={step === i + 1 ? 'step' : undefined} class={step > i + 1 ? 'done' : ''}>
            <button type="button" class="link" disabled={i + 1 > 1 && !chosen} onClick={() => go(i + 1)}>{i + 1}. {label}</button>
          </li>
        ))}
      </ol>
      {step === 1 || !chosen ? <ChooseIdp selected={idp} onChoose={choose} /> : null}
      {step === 2 && chosen ? <Instructions tenant={tenant} guide={chosen} scimBaseUrl={detail.tenant.scimBaseUrl ?? ''} onNext={() => go(3)} /> : null}
      {step === 3 && chosen ? <LivePanel tenant={tenant} detail={detail} /> : null}
    </>
  );
}

function ChooseIdp({ selected, onChoose }: { selected: string | undefined; onChoose: (id: string) => void }) {
  return (
    <Section title="Step 1: which identity provider does your company use?">
      <div class="idp-grid">
        {GUIDES.map((g) => (
          <button type="button" key={g.id} class={`idp${selected === g.id ? ' selected' : ''}`} aria-pressed={selected === g.id} onClick={() => onChoose(g.id)}>
            <strong>{g.name}</strong>
            <span class="muted small">{g.supported ? g.intro : 'Not supported yet'}</span>
          </button>
        ))}
      </div>
    </Section>
  );
}

function Instructions({ tenant, guide: g, scimBaseUrl, onNext }: { tenant: string; guide: Guide; scimBaseUrl: string; onNext: () => void }) {
  const [token, setToken] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const generate = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const issued = await api<{ token: string; tokenInfo: TokenInfo }>('POST', `/tenants/${enc(tenant)}/scim-tokens`, { label: `${g.name} (setup link)` });
      setToken(issued.token);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!g.supported) {
    return (
      <Section title={`Step 2: ${g.name}`}>
        <p class="notice" role="status">{g.name} is not supported yet.</p>
        {g.steps.map((s) => <p key={s}>{s}</p>)}
      </Section>
    );
  }
  const fields = g.fields({ scimBaseUrl });
  return (
    <Section title={`Step 2: set up provisioning in ${g.name}`}>
      <p class="muted">{g.intro}</p>
      <ol class="instructions">{g.steps.map((s) => <li key={s}>{s}</li>)}</ol>
      <h3>Values to paste</h3>
      {fields.map((f, i) => {
        const id = `field-${i}`;
        if (f.value !== 'token') return <div key={f.label}><CopyField id={id} label={f.label} value={f.value} />{f.note ? <p class="muted small">{f.note}</p> : null}</div>;
        return (
          <div key={f.label}>
            {token ? (
              <>
                <CopyField id={id} label={f.label} value={f.bearerPrefix ? `Bearer ${token}` : token} />
                <p class="notice small" role="status">This token is shown once. Paste it now; if you lose it, generate another one here.</p>
              </>
            ) : (
              <div class="copy-field">
                <span class="label">{f.label}</span>
                <button type="button" onClick={generate} disabled={busy}>Generate token</button>
              </div>
            )}
            {f.note ? <p class="muted small">{f.note}</p> : null}
          </div>
        );
      })}
      <ErrorNote error={error} />
      {g.mappings.length > 0 ? (
        <>
          <h3>Attribute mappings that matter</h3>
          <table>
            <thead><tr><th scope="col">Provisio attribute</th><th scope="col">{g.name} value</th><th scope="col">Why</th></tr></thead>
            <tbody>{g.mappings.map((m) => <tr key={m.scim}><td><code>{m.scim}</code></td><td><code>{m.idp}</code></td><td>{m.note}</td></tr>)}</tbody>
          </table>
        </>
      ) : null}
      {g.quirks.length > 0 ? <><h3>Good to know</h3><ul>{g.quirks.map((q) => <li key={q}>{q}</li>)}</ul></> : null}
      <p><button type="button" onClick={onNext}>Next: test the connection</button></p>
    </Section>
  );
}

const PANEL_SIZE = 50;

/**
 * The IdP's requests as they arrive, newest first. Each poll reads the newest page and merges it by id
 * rather than asking only for ids after the last one seen: with several replicas, batches can commit
 * out of id order, and a row committed late with a smaller id would otherwise never be shown.
 */
function LivePanel({ tenant, detail }: { tenant: string; detail: TenantDetail }) {
  const [requests, setRequests] = useState<ScimRequest[]>([]);
  const [error, setError] = useState<unknown>();
  usePoll(async () => {
    try {
      const page = await api<ScimRequestPage>('GET', `/tenants/${enc(tenant)}/scim-requests?limit=${PANEL_SIZE}`);
      setError(undefined);
      setRequests((previous) => {
        const byId = new Map(previous.map((r) => [r.id, r]));
        for (const r of page.requests) byId.set(r.id, r);
        return [...byId.values()].sort((a, b) => Number(BigInt(b.id) - BigInt(a.id))).slice(0, PANEL_SIZE);
      });
    } catch (err) {
      setError(err);
    }
  }, 2000, [tenant]);

  const { users, groups } = detail.directory;
  const synced = detail.sync.counts.synced ?? 0;
  const failed = detail.sync.counts.failed ?? 0;
  return (
    <Section title="Step 3: test the connection">
      <p>Start provisioning in your identity provider (or use its "test" or "provision on demand" button). Its requests appear here within a few seconds.</p>
      <p class="summary" role="status" aria-live="polite">
        <strong>{users}</strong> {users === 1 ? 'user' : 'users'} and <strong>{groups}</strong> {groups === 1 ? 'group' : 'groups'} received
        {detail.bound ? <>, <strong>{synced}</strong> synced to Auth0{failed > 0 ? <>, <strong>{failed}</strong> failed</> : null}</> : <> (not connected to sign-in yet: your provider finishes that step)</>}.
      </p>
      <ErrorNote error={error} />
      <RequestTable requests={requests} empty="No requests yet. Waiting for your identity provider…" />
    </Section>
  );
}
