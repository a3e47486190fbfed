import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Me } from '../api';
import { ErrorNote } from '../components';
import { clearSession, loadSession, saveSession } from '../session';
import { Shell } from './shell';

/** Where a signed-in credential belongs: operators to the tenant list, a delegated admin to its setup page. */
function landing(me: Me): string {
  return me.kind === 'operator' ? '/console/tenants' : '/console/setup';
}

/**
 * Sign-in: a one-time link (`#sign-in=pvs_…`, printed by the zero-config start) or an admin token pasted
 * here. The token is checked with /v1/admin/me before it is kept.
 */
export function Home() {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(true);

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
    const attempt = code
      ? api<{ token: string }>('POST', '/console/sign-in', { code: decodeURIComponent(code) }, '').then((s) => signIn(s.token))
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

  return (
    <Shell title="Sign in to the Provisio console">
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
