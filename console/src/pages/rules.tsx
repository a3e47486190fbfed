import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc } from '../api';
import { ErrorNote, Section } from '../components';

interface Explanation { lines: string[]; warnings: string[] }

/**
 * The role rules as their JSON document (docs/sync.md), with a live preview: the groups typed here are run
 * through the rules being edited on every change, before anything is saved. Saving is checked by the
 * server against the delegation limits (an org admin grants only what the stored rules already grant).
 */
export function RulesPreview({ tenant }: { tenant: string }) {
  const [text, setText] = useState<string>();
  const [groups, setGroups] = useState('');
  const [preview, setPreview] = useState<Explanation>();
  const [previewError, setPreviewError] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();

  useEffect(() => {
    api<unknown>('GET', `/tenants/${enc(tenant)}/rules`)
      .then((rules) => setText(JSON.stringify(rules, null, 2)))
      .catch((err) => setError(err instanceof ApiError && err.status === 409 ? new Error('Roles come from the sign-in connection, which your provider has not set up yet.') : err));
  }, [tenant]);

  useEffect(() => {
    if (text === undefined) return;
    const timer = setTimeout(async () => {
      let rules: unknown;
      try {
        rules = JSON.parse(text);
      } catch (err) {
        setPreview(undefined);
        return setPreviewError(new Error(`The rules are not valid JSON: ${(err as Error).message}`));
      }
      const names = groups.split(',').map((g) => g.trim()).filter((g) => g !== '');
      try {
        setPreview(await api<Explanation>('POST', `/tenants/${enc(tenant)}/rules/test`, { groups: names, rules }));
        setPreviewError(undefined);
      } catch (err) {
        setPreview(undefined);
        setPreviewError(err);
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [tenant, text, groups]);

  const save = async () => {
    setSaved(undefined);
    setError(undefined);
    try {
      await api('PUT', `/tenants/${enc(tenant)}/rules`, JSON.parse(text ?? '{}'));
      setSaved('Saved. Every user is being re-evaluated with the new rules.');
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Section title="Roles from groups">
      <ErrorNote error={error} />
      {text !== undefined ? (
        <div class="rules">
          <div>
            <label for="rules-json">Rules (JSON)</label>
            <textarea id="rules-json" rows={18} spellcheck={false} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
            <button type="button" onClick={save}>Save rules</button>
            {saved ? <p role="status">{saved}</p> : null}
          </div>
          <div>
            <label for="rules-groups">Preview: a user in these groups (comma-separated)</label>
            <input id="rules-groups" value={groups} placeholder="Engineering, Admins" onInput={(e) => setGroups((e.currentTarget as HTMLInputElement).value)} />
            <ErrorNote error={previewError} />
            {preview ? <ul class="preview" aria-live="polite">{preview.lines.map((l) => <li key={l}>{l}</li>)}</ul> : null}
          </div>
        </div>
      ) : null}
    </Section>
  );
}
