import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc } from '../api';
import { ErrorNote, Section } from '../components';

/** What a new binding starts from: the tenant's own organization and one database connection to fill in (docs/sync.md). */
function template(tenant: string): unknown {
  return {
    binding: {
      organization: { name: tenant, displayName: tenant },
      connections: [{ id: 'con_…', name: 'Username-Password-Authentication', mode: 'database' }],
      deprovision: 'block',
      onboarding: 'none',
    },
  };
}

/**
 * The tenant's Auth0 binding (organization, connections, policies) as its JSON document, for the operator.
 * Saving binds or rebinds and queues every user; the server checks the document and names the field it
 * refuses. Rules and guard are kept when the document leaves them out.
 */
export function BindingEditor({ tenant, bound, onSaved }: { tenant: string; bound: boolean; onSaved: () => Promise<void> }) {
  const [text, setText] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  useEffect(() => {
    api<{ binding: unknown }>('GET', `/tenants/${enc(tenant)}/binding`)
      .then((stored) => setText(JSON.stringify({ binding: stored.binding }, null, 2)))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 404) setText(JSON.stringify(template(tenant), null, 2));
        else setError(err);
      });
  }, [tenant]);

  const save = async () => {
    setError(undefined);
    setSaved(undefined);
    let body: unknown;
    try {
      body = JSON.parse(text ?? '');
    } catch (err) {
      return setError(new Error(`The binding is not valid JSON: ${(err as Error).message}`));
    }
    try {
      await api('PUT', `/tenants/${enc(tenant)}/binding`, body);
      setSaved(bound ? 'Saved: every user is being synced with the new binding.' : 'Bound: every user is being imported into Auth0.');
      await onSaved();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Section title="Auth0 binding">
      <p class="muted">The Auth0 organization this tenant's users join and the connections they are created on (docs/sync.md, "Binding a tenant"). Inbound SCIM tokens of enterprise-scim connections are never shown and must be sent again with every change.</p>
      {text !== undefined ? (
        <>
          <label for="binding-json">Binding (JSON)</label>
          <textarea id="binding-json" rows={14} spellcheck={false} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
          <p><button type="button" onClick={save}>{bound ? 'Save binding' : 'Bind to Auth0'}</button></p>
        </>
      ) : null}
      {saved ? <p role="status">{saved}</p> : null}
      <ErrorNote error={error} />
    </Section>
  );
}
