import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ScimRequest } from './api';
import { hintFor } from './hints';

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return <p class="error" role="alert">{error instanceof Error ? error.message : String(error)}</p>;
}

/** A value to paste into the IdP, with a copy button that says when it worked. */
export function CopyField({ label, value, id }: { label: string; value: string; id: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // No clipboard (plain http on another host): select the text so Ctrl+C works.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button type="button" onClick={copy} aria-label={`Copy ${label}`}>{copied ? 'Copied' : 'Copy'}</button>
      </div>
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header class="card-head"><h2>{title}</h2>{actions}</header>
      {children}
    </section>
  );
}

/** Calls `tick` now and every `ms` while mounted; stops when the tab is hidden. */
export function usePoll(tick: () => Promise<void> | void, ms: number, deps: unknown[]): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (stopped) return;
      if (document.visibilityState !== 'hidden') {
        try {
          await saved.current();
        } catch {
          // The page shows its own error state; polling goes on so it recovers by itself.
        }
      }
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, deps);
}

function statusClass(status: number): string {
  return status >= 500 ? 'status bad' : status >= 400 ? 'status warn' : 'status ok';
}

/** The SCIM requests as an IT admin reads them: what arrived, what we answered, and what to fix. */
export function RequestTable({ requests, empty }: { requests: readonly ScimRequest[]; empty: string }) {
  if (requests.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="requests">
      <thead><tr><th scope="col">Time</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">What happened</th></tr></thead>
      <tbody>
        {requests.map((r) => {
          const hint = hintFor(r);
          return (
            <tr key={r.id} data-status={r.status}>
              <td class="nowrap">{new Date(r.at).toLocaleTimeString()}</td>
              <td><code>{r.method} {r.path}</code>{r.summary ? <div class="muted small">{r.summary}</div> : null}</td>
              <td><span class={statusClass(r.status)}>{r.status}</span></td>
              <td>
                {r.errorDetail ? <div>{r.errorDetail}</div> : <div class="muted">{r.resourceType ? `${r.resourceType}${r.resourceId ? ` ${r.resourceId.slice(0, 8)}…` : ''}` : 'OK'}</div>}
                {hint ? <div class="hint">{hint}</div> : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Requests per minute as bars (errors stacked in red): an SVG, so no chart library and nothing inline for the CSP. */
export function RequestChart({ perMinute, hours }: { perMinute: readonly { minute: string; requests: number; errors: number }[]; hours: number }) {
  const width = 720;
  const height = 120;
  const end = Math.ceil(Date.now() / 60_000) * 60_000;
  const start = end - hours * 3_600_000;
  const max = Math.max(1, ...perMinute.map((m) => m.requests));
  const barWidth = Math.max(1, width / (hours * 60));
  const total = perMinute.reduce((n, m) => n + m.requests, 0);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${total} requests in the last ${hours} hours, at most ${max} in one minute`}>
        <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="axis" />
        {perMinute.map((m) => {
          const x = ((new Date(m.minute).getTime() - start) / (end - start)) * width;
          const h = (m.requests / max) * (height - 4);
          const e = (m.errors / max) * (height - 4);
          return (
            <g key={m.minute}>
              <rect x={x} y={height - h} width={barWidth} height={h} class="bar" />
              {m.errors > 0 ? <rect x={x} y={height - e} width={barWidth} height={e} class="bar-error" /> : null}
            </g>
          );
        })}
      </svg>
      <figcaption class="muted small">Requests per minute, last {hours} h (errors in red); peak {max}/min.</figcaption>
    </figure>
  );
}
