import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { clearSession, loadSession } from '../session';

/** The frame of every page: a header with who is signed in, and one main landmark. */
export function Shell({ title, children, crumbs }: { title: string; children: ComponentChildren; crumbs?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Provisio`;
  }, [title]);
  const session = loadSession();
  const signOut = () => {
    clearSession();
    location.assign('/console/');
  };
  return (
    <>
      <header class="top">
        <a class="brand" href={session?.setupLink ? '/console/setup' : '/console/'}>Provisio</a>
        {crumbs ? <nav aria-label="Breadcrumb" class="crumbs">{crumbs}</nav> : null}
        <span class="spacer" />
        {session?.kind ? (
          <span class="who">
            {session.kind === 'operator' ? 'Operator' : `Tenant ${session.tenant ?? ''}`}
            <button type="button" class="link" onClick={signOut}>Sign out</button>
          </span>
        ) : null}
      </header>
      <main>
        <h1>{title}</h1>
        {children}
      </main>
    </>
  );
}
