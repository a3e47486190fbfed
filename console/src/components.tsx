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
              <td>{r.requests > 1 ? <span>{r.requests} more reads</span> : <code>{r.method} {r.path}</code>}{r.summary ? <div class="muted small">{r.summary}</div> : null}</td>
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

/** One bar per minute over the last `hours`; `part` is drawn over the bar in red (errors, or the share that is slow). */
export interface MinuteBar { minute: string; value: number; part?: number }

/** Bars per minute as SVG drawn by the page itself: no chart library, and nothing inline for the CSP to forbid. */
export function MinuteChart({ bars, hours, label, caption }: { bars: readonly MinuteBar[]; hours: number; label: string; caption: string }) {
  const width = 720;
  const height = 120;
  const end = Math.ceil(Date.now() / 60_000) * 60_000;
  const start = end - hours * 3_600_000;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const barWidth = Math.max(1, width / (hours * 60));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="axis" />
        {bars.map((b) => {
          const x = ((new Date(b.minute).getTime() - start) / (end - start)) * width;
          const h = (b.value / max) * (height - 4);
          const p = ((b.part ?? 0) / max) * (height - 4);
          return (
            <g key={b.minute}>
              <rect x={x} y={height - h} width={barWidth} height={h} class="bar" />
              {p > 0 ? <rect x={x} y={height - p} width={barWidth} height={p} class="bar-error" /> : null}
            </g>
          );
        })}
      </svg>
      <figcaption class="muted small">{caption}</figcaption>
    </figure>
  );
}

/** Requests per minute, errors in red. */
export function RequestChart({ perMinute, hours }: { perMinute: readonly { minute: string; requests: number; errors: number }[]; hours: number }) {
  const total = perMinute.reduce((n, m) => n + m.requests, 0);
  const peak = Math.max(0, ...perMinute.map((m) => m.requests));
  return (
    <MinuteChart
      bars={perMinute.map((m) => ({ minute: m.minute, value: m.requests, part: m.errors }))}
      hours={hours}
      label={`${total} requests in the last ${hours} hours, at most ${peak} in one minute`}
      caption={`Requests per minute, last ${hours} h (refused in red); peak ${peak}/min.`}
    />
  );
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Sync lag: the median time from a directory change to Auth0, per minute. */
export function LagChart({ perMinute, hours }: { perMinute: readonly { minute: string; synced: number; p50Ms: number; maxMs: number }[]; hours: number }) {
  const synced = perMinute.reduce((n, m) => n + m.synced, 0);
  const worst = Math.max(0, ...perMinute.map((m) => m.maxMs));
  const latest = perMinute[perMinute.length - 1];
  return (
    <MinuteChart
      bars={perMinute.map((m) => ({ minute: m.minute, value: m.p50Ms }))}
      hours={hours}
      label={`${synced} users synced in the last ${hours} hours; longest wait ${seconds(worst)}`}
      caption={`Sync lag (median time from the IdP's change to Auth0) per minute, last ${hours} h: ${synced} users synced${latest ? `, latest median ${seconds(latest.p50Ms)}` : ''}, longest ${seconds(worst)}.`}
    />
  );
}
