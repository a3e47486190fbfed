import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Me } from '../api';
import { callbackUrl, finishAuth0SignIn, isAuth0Callback, loadConsoleConfig, startAuth0SignIn, type ConsoleAuth0Config } from '../auth0-sign-in';
import { ErrorNote } from '../components';
import { clearSession, loadSession, saveSession } from '../session';
import { Shell } from './shell';

/** Where a signed-in credential belongs: operators to the tenant list, a delegated admin to its setup page. */
function landing(me: Me): string {
  return me.kind === 'operator' ? '/console/tenants' : '/console/setup';
}

/**
 * Sign-in: a one-time link (`#sign-in=pvs_…`, printed by the zero-config start), an admin token pasted
 * here, or Auth0 when the server offers it. Every credential is checked with /v1/admin/me before it is kept.
 */
export function Home() {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(true);
  const [auth0, setAuth0] = useState<ConsoleAuth0Config | null>(null);
  const [organization, setOrganization] = useState('');

  const signIn = async (credential: string) => {
    const me = await api<Me>('GET', '/me', undefined, credential);
    saveSession({ token: credential, kind: me.kind, tenant: me.tenant });
    route(landing(me), true);
  };

  useEffect(() => {
    const code = /^#sign-in=(.+)$/.exec(location.hash)?.[1];
    // The code is spent either way: take it out of the address bar and the history at once.
    if (code) history.replaceState(null, '', '/console/');
    const existing = loadSession();
    const config = loadConsoleConfig().catch(() => null).then((c) => {
      setAuth0(c);
      return c;
    });
    const attempt = code
      ? api<{ token: string }>('POST', '/console/sign-in', { code: decodeURIComponent(code) }, '').then((s) => signIn(s.token))
      : isAuth0Callback()
        ? config.then((c) => {
          if (!c) throw new Error('This server does not offer sign-in with Auth0 (CONSOLE_AUTH0_CLIENT_ID is not set).');
          return finishAuth0SignIn(c).then(signIn);
        })
      : existing
        ? signIn(existing.token).catch((err) => {
            clearSession();
            if (!(err instanceof ApiError && err.status === 401)) throw err;
          })
        : Promise.resolve();
    attempt.catch(setError).finally(() => setBusy(false));
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await signIn(token.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const withAuth0 = async (e: Event) => {
    e.preventDefault();
    if (!auth0) return;
    setError(undefined);
    setBusy(true);
    try {
      await startAuth0SignIn(auth0, organization.trim() || undefined);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Shell title="Sign in to the Provisio console">
      {auth0 && (
        <form class="card narrow" onSubmit={withAuth0} aria-labelledby="auth0-heading">
          <h2 id="auth0-heading">With your Auth0 account</h2>
          <label for="organization">Organization <span class="muted">(customer admins only)</span></label>
          <input id="organization" autoComplete="organization" spellcheck={false} value={organization}
            onInput={(e) => setOrganization((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit" disabled={busy}>Sign in with Auth0</button>
          <p class="muted">Returns to <code>{callbackUrl()}</code>, which must be an Allowed Callback URL of the application.</p>
        </form>
      )}
      <p>Sign in with an admin token (<code>pva_…</code>). A new one comes from <code>provisio admin-token issue</code>;
        on a zero-config start, open the sign-in link the server printed, or print a new one with <code>provisio console-link</code>.</p>
      <p>Setting up your company's identity provider? Open the setup link you were sent instead.</p>
      <ErrorNote error={error} />
      <form class="card narrow" onSubmit={submit}>
        <label for="token">Admin token</label>
        <input id="token" type="password" autoComplete="off" spellcheck={false} value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} required />
        <button type="submit" disabled={busy || token.trim() === ''}>Sign in</button>
      </form>
    </Shell>
  );
}
