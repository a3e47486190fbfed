/**
 * The one place that builds the official `auth0` SDK client (v7, research/auth0.md §3.2). Retries are off
 * (`maxRetries: 0`): the SDK's own retry would sleep on 429 outside our rate budget and hide the headers
 * the budget learns from (§2, STACK.md "auth0 7.1.0"). One client per Auth0 tenant — each instance fetches
 * and caches its own M2M token.
 */
import * as sdk from 'auth0';
import { noteAuth0SdkLoaded } from './sdk.js';

noteAuth0SdkLoaded(sdk);

/** Auth0 tenant binding: M2M credentials, plan (selects the rate table) and an optional base-URL override. */
export interface Auth0Settings {
  /** Bare host (`acme.eu.auth0.com`); the SDK builds `https://<domain>/api/v2` itself (§3.2). */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** `http://127.0.0.1:4010` — send every `https://<domain>` request here instead (the emulator). */
  baseUrl?: string;
  plan: 'free' | 'essentials' | 'enterprise';
  /** Per-request timeout; the SDK default is 60 s, far too long for a queue worker. */
  timeoutSeconds?: number;
}

/** A `fetch` that rewrites `https://<domain>…` to `<baseUrl>…`, token request included (research/auth0.md §3.4). */
export function rewritingFetch(domain: string, baseUrl: string): typeof fetch {
  const prefix = `https://${domain}`;
  const base = baseUrl.replace(/\/+$/, '');
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(prefix)) return fetch(input, init);
    const target = base + url.slice(prefix.length);
    if (typeof input === 'string' || input instanceof URL) return fetch(target, init);
    return fetch(new Request(target, input), init);
  };
}

/** Builds the SDK client for one Auth0 tenant with SDK retries disabled. */
export function createManagementClient(cfg: Auth0Settings): sdk.ManagementClient {
  return new sdk.ManagementClient({
    domain: cfg.domain,
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    maxRetries: 0,
    timeoutInSeconds: cfg.timeoutSeconds ?? 15,
    ...(cfg.baseUrl ? { fetch: rewritingFetch(cfg.domain, cfg.baseUrl) } : {}),
  });
}
