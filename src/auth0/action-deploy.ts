/**
 * Deploys Provisio's Post-Login Action (action/post-login.js) through the Management API, idempotently:
 * find the Action named `provisio-post-login`, create it or bring its code, runtime and secrets up to
 * date, deploy it, and make sure the `post-login` trigger runs it exactly once (other bindings and their
 * order are kept; ours is appended when missing). research/auth0.md §4; spec /actions/actions,
 * /actions/actions/{id}/deploy, /actions/triggers/{triggerId}/bindings.
 *
 * Idempotency: Auth0 never returns secret values, so the deployed code ends with a comment line holding
 * an HMAC (keyed with PROVISIO_ACTION_SECRET) of the code, runtime and every secret value. A run whose
 * code line, runtime, secret names and trigger match a fully deployed Action writes nothing and deploys
 * nothing; any change (code, URL, fail mode, timeout, a rotated secret) updates the Action and deploys a
 * new version. Hand edits of this Action in the dashboard are overwritten by the next deploy.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ManagementClient } from 'auth0';
import { Auth0PermanentError, Auth0RetryableError, classifyAuth0Error } from './errors.js';
import type { RateBudget } from './rate-budget.js';

/** The Action's name in Auth0; Provisio finds its Action by this name. */
export const POST_LOGIN_ACTION_NAME = 'provisio-post-login';
/** research/auth0.md §4.1: Node 22 is the recommended runtime. */
export const ACTION_RUNTIME = 'node22';
const TRIGGER = 'post-login';
const TRIGGER_VERSION = 'v3';
/** action/post-login.js caps its own wait at 15 s (the whole trigger has 20 s). */
const MAX_ACTION_TIMEOUT_MS = 15_000;
const DEFAULT_ACTION_TIMEOUT_MS = 5000;
const FINGERPRINT_LINE = '// Deployed by Provisio (provisio action deploy). Settings fingerprint: ';
const PAGE = 50;

export type FailMode = 'closed' | 'open';

/** What the Action is deployed with (its secrets PROVISIO_URL, PROVISIO_SECRET, FAIL_MODE, TIMEOUT_MS). */
export interface PostLoginActionInput {
  /** The Action's source, action/post-login.js. */
  code: string;
  /** Provisio's public base URL: https, or http for localhost only. */
  provisioUrl: string;
  /** PROVISIO_ACTION_SECRET (32–4096 characters). */
  actionSecret: string;
  failMode?: FailMode;
  /** How long the Action waits for Provisio (default 5000, at most 15000). */
  timeoutMs?: number;
}

/** How the calls are made. */
export interface DeployOptions {
  /** The tenant's rate budget (the process's gateway budget when there is one). */
  budget?: RateBudget;
  fairnessKey?: string;
  /** Per Management API request (default 15 s). */
  requestTimeoutSeconds?: number;
  /** How long to wait for Auth0 to build the draft before deploying it (default 60 s, polled every second). */
  buildWaitMs?: number;
  /** Strings never to appear in error messages (the M2M client secret). */
  secrets?: readonly string[];
  sleep?: (ms: number) => Promise<void>;
}

/** What a deploy did. */
export interface DeployResult {
  actionId: string;
  actionName: string;
  /** `unchanged`: nothing was written to the Action and no version deployed. */
  action: 'created' | 'updated' | 'unchanged';
  /** The version now deployed, and whether this run deployed it. */
  versionId: string;
  versionNumber?: number;
  deployed: boolean;
  bound: 'added' | 'already';
  /** The PROVISIO_URL the Action calls. */
  provisioUrl: string;
  /** Other Actions bound to post-login, in execution order, around ours. */
  bindings: string[];
}

/** Why a deploy failed; `scope` names the missing Management API scope. */
export type ActionDeployErrorCode = 'invalid_input' | 'no_code' | 'missing_scope' | 'unauthorized' | 'auth0_error' | 'unavailable';

export class ActionDeployError extends Error {
  override readonly name = 'ActionDeployError';
  constructor(readonly code: ActionDeployErrorCode, message: string, readonly scope?: string) {
    super(message);
  }
}

/** The scope each call needs (spec `security`). */
const SCOPES: Readonly<Record<string, string>> = {
  'GET /actions/actions': 'read:actions',
  'POST /actions/actions': 'create:actions',
  'PATCH /actions/actions/{id}': 'update:actions',
  'POST /actions/actions/{id}/deploy': 'create:actions',
  'GET /actions/triggers/{triggerId}/bindings': 'read:actions',
  'PATCH /actions/triggers/{triggerId}/bindings': 'update:actions',
};

/** Where action/post-login.js is: beside `src/` and `dist/` in a checkout. */
export const POST_LOGIN_ACTION_FILE = fileURLToPath(new URL('../../action/post-login.js', import.meta.url));

/** Reads the Action's source; an `ActionDeployError` naming the file when it is not there. */
export async function readPostLoginActionCode(file = POST_LOGIN_ACTION_FILE): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ActionDeployError('no_code', `cannot read the Action's code at ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** Checks and normalises the input; `ActionDeployError('invalid_input')` names the bad field. */
export function checkDeployInput(input: PostLoginActionInput): Required<PostLoginActionInput> {
  let url: URL;
  try {
    url = new URL(input.provisioUrl);
  } catch {
    throw new ActionDeployError('invalid_input', `the public URL "${input.provisioUrl}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.includes(url.hostname))) {
    throw new ActionDeployError('invalid_input', `the public URL must use https (plain http only for localhost): Auth0 calls it from the internet, got ${url.origin}`);
  }
  if (url.username || url.password || url.search || url.hash) throw new ActionDeployError('invalid_input', 'the public URL must not carry credentials, a query or a fragment');
  const failMode = input.failMode ?? 'closed';
  if (failMode !== 'closed' && failMode !== 'open') throw new ActionDeployError('invalid_input', `fail mode must be closed or open, got "${String(failMode)}"`);
  const timeoutMs = input.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > MAX_ACTION_TIMEOUT_MS) {
    throw new ActionDeployError('invalid_input', `the Action's timeout must be 100 to ${MAX_ACTION_TIMEOUT_MS} ms, got ${timeoutMs}`);
  }
  if (input.actionSecret.length < 32 || input.actionSecret.length > 4096) throw new ActionDeployError('invalid_input', 'PROVISIO_ACTION_SECRET must be 32 to 4096 characters');
  if (input.code.trim() === '') throw new ActionDeployError('invalid_input', "the Action's code is empty");
  return { code: input.code, provisioUrl: url.href.replace(/\/+$/, ''), actionSecret: input.actionSecret, failMode, timeoutMs };
}

/** The four secrets, in a fixed order. */
function actionSecrets(input: Required<PostLoginActionInput>): { name: string; value: string }[] {
  return [
    { name: 'PROVISIO_URL', value: input.provisioUrl },
    { name: 'PROVISIO_SECRET', value: input.actionSecret },
    { name: 'FAIL_MODE', value: input.failMode },
    { name: 'TIMEOUT_MS', value: String(input.timeoutMs) },
  ];
}

/** The code as deployed: the source plus a last line fingerprinting code, runtime and secret values. */
export function deployedActionCode(input: Required<PostLoginActionInput>): string {
  const source = input.code.replace(/\s+$/, '');
  const fingerprint = createHmac('sha256', input.actionSecret)
    .update(JSON.stringify({ code: source, runtime: ACTION_RUNTIME, secrets: actionSecrets(input).map((s) => [s.name, s.value]) }))
    .digest('base64url');
  return `${source}\n\n${FINGERPRINT_LINE}${fingerprint}\n`;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The fields of an Action we read (the SDK types are all-optional). */
interface ActionState {
  id: string;
  name: string;
  code: string;
  runtime: string;
  triggers: string[];
  secretNames: string[];
  allChangesDeployed: boolean;
  deployedVersion?: { id: string; number?: number };
}

function toAction(value: unknown, operation: string): ActionState {
  const id = isRec(value) ? str(value['id']) : undefined;
  if (!isRec(value) || !id) throw new ActionDeployError('auth0_error', `Auth0 ${operation} answered without an action id`);
  const deployed = isRec(value['deployed_version']) ? value['deployed_version'] : undefined;
  const deployedId = deployed ? str(deployed['id']) : undefined;
  return {
    id,
    name: str(value['name']) ?? '',
    code: str(value['code']) ?? '',
    runtime: str(value['runtime']) ?? '',
    triggers: Array.isArray(value['supported_triggers']) ? value['supported_triggers'].filter(isRec).map((t) => String(t['id'])) : [],
    secretNames: Array.isArray(value['secrets']) ? value['secrets'].filter(isRec).map((s) => String(s['name'])) : [],
    allChangesDeployed: value['all_changes_deployed'] === true,
    ...(deployedId ? { deployedVersion: { id: deployedId, ...(typeof deployed?.['number'] === 'number' ? { number: deployed['number'] } : {}) } } : {}),
  };
}

/** Turns a classified Auth0 failure into a message an operator can act on. */
function deployError(err: unknown, operation: string, secrets: readonly string[]): ActionDeployError {
  if (err instanceof ActionDeployError) return err;
  const classified = classifyAuth0Error(err, { operation, now: Date.now(), secrets });
  const scope = SCOPES[operation];
  if (classified instanceof Auth0PermanentError && classified.status === 403 && classified.errorCode === 'insufficient_scope') {
    return new ActionDeployError('missing_scope', `the M2M application lacks the Management API scope ${scope} (needed for ${operation}): grant it under Applications → APIs → Auth0 Management API → Machine to Machine Applications`, scope);
  }
  if (classified instanceof Auth0PermanentError && (classified.status === 401 || classified.status === 403)) {
    return new ActionDeployError('unauthorized', `Auth0 refused the M2M credentials or this call (${classified.message})`);
  }
  if (classified instanceof Auth0RetryableError) return new ActionDeployError('unavailable', classified.message);
  return new ActionDeployError('auth0_error', classified.message);
}

interface Raw<T> {
  data: T;
  rawResponse: { status: number; headers: Headers };
}

/** Deploys (or confirms) the Post-Login Action and its post-login binding; see the file comment. */
export async function deployPostLoginAction(client: ManagementClient, input: PostLoginActionInput, options: DeployOptions = {}): Promise<DeployResult> {
  const settings = checkDeployInput(input);
  const request = { maxRetries: 0, timeoutInSeconds: options.requestTimeoutSeconds ?? 15 } as const;
  const key = options.fairnessKey ?? 'action-deploy';
  const secrets = [...(options.secrets ?? []), settings.actionSecret];
  const sleep = options.sleep ?? ((ms: number) => delay(ms));

  /** Budget → SDK call (no SDK retries, a timeout) → observe the rate headers; failures become `ActionDeployError`s. */
  const call = async <T>(operation: string, fn: () => Promise<Raw<T>>): Promise<T> => {
    await options.budget?.acquire('other', key);
    try {
      const { data, rawResponse } = await fn();
      options.budget?.observe('other', rawResponse.headers, rawResponse.status);
      return data;
    } catch (err) {
      const raw = (err as { rawResponse?: { headers?: unknown }; statusCode?: unknown } | undefined);
      if (raw?.rawResponse?.headers instanceof Headers && typeof raw.statusCode === 'number') options.budget?.observe('other', raw.rawResponse.headers, raw.statusCode);
      throw deployError(err, operation, secrets);
    }
  };

  const code = deployedActionCode(settings);
  const desiredSecrets = actionSecrets(settings);
  const body = { code, runtime: ACTION_RUNTIME, secrets: desiredSecrets, supported_triggers: [{ id: TRIGGER, version: TRIGGER_VERSION }] } as const;

  // 1. Find the Action by name (the filter is exact; checked again here).
  const found = await call('GET /actions/actions', async () => {
    const page = await client.actions.list({ actionName: POST_LOGIN_ACTION_NAME, per_page: PAGE }, request);
    return { data: page.data, rawResponse: page.rawResponse };
  });
  const existing = found.map((a) => toAction(a, 'GET /actions/actions')).find((a) => a.name === POST_LOGIN_ACTION_NAME);

  // 2. Create it, or update it when anything differs from what we would deploy.
  let current: ActionState;
  let action: DeployResult['action'];
  if (!existing) {
    current = toAction(await call('POST /actions/actions', () =>
      client.actions.create({ name: POST_LOGIN_ACTION_NAME, ...body, secrets: [...desiredSecrets], supported_triggers: [...body.supported_triggers] }, request).withRawResponse()), 'POST /actions/actions');
    action = 'created';
  } else {
    const sameNames = existing.secretNames.length === desiredSecrets.length && desiredSecrets.every((s) => existing.secretNames.includes(s.name));
    const same = existing.code === code && existing.runtime === ACTION_RUNTIME && sameNames && existing.triggers.length === 1 && existing.triggers[0] === TRIGGER;
    if (same && existing.allChangesDeployed && existing.deployedVersion) {
      current = existing;
      action = 'unchanged';
    } else if (same) {
      // Our draft is there but not deployed (an earlier run stopped after the update): deploy it.
      current = existing;
      action = 'updated';
    } else {
      current = toAction(await call('PATCH /actions/actions/{id}', () =>
        client.actions.update(existing.id, { ...body, secrets: [...desiredSecrets], supported_triggers: [...body.supported_triggers] }, request).withRawResponse()), 'PATCH /actions/actions/{id}');
      action = 'updated';
    }
  }

  // 3. Deploy, waiting for Auth0's build ("must be in the 'built' state", as auth0-deploy-cli retries it).
  let version = current.deployedVersion;
  let deployed = false;
  if (action !== 'unchanged' || !version) {
    const deadline = Date.now() + (options.buildWaitMs ?? 60_000);
    for (;;) {
      try {
        const v = await call('POST /actions/actions/{id}/deploy', () => client.actions.deploy(current.id, request).withRawResponse());
        const id = isRec(v) ? str(v['id']) : undefined;
        if (!id) throw new ActionDeployError('auth0_error', 'Auth0 POST /actions/actions/{id}/deploy answered without a version id');
        version = { id, ...(isRec(v) && typeof v['number'] === 'number' ? { number: v['number'] } : {}) };
        deployed = true;
        break;
      } catch (err) {
        const building = err instanceof ActionDeployError && err.code === 'auth0_error' && /built/i.test(err.message);
        if (!building || Date.now() >= deadline) throw err;
        await sleep(1000);
      }
    }
  }

  if (!version) throw new ActionDeployError('auth0_error', `the Action ${current.id} has no deployed version`);

  // 4. Bind it to post-login exactly once, keeping the other Actions and their order.
  const bindings: { actionId: string; actionName: string; displayName: string }[] = [];
  let unreadable = 0;
  for (let page = 0; ; page++) {
    const items = await call('GET /actions/triggers/{triggerId}/bindings', async () => {
      const p = await client.actions.triggers.bindings.list(TRIGGER, { page, per_page: PAGE }, request);
      return { data: p.data, rawResponse: p.rawResponse };
    });
    for (const b of items) {
      const a = isRec(b) && isRec(b['action']) ? b['action'] : undefined;
      const actionId = a ? str(a['id']) : undefined;
      if (!actionId) {
        unreadable++;
        continue;
      }
      bindings.push({ actionId, actionName: str(a?.['name']) ?? '', displayName: (isRec(b) ? str(b['display_name']) : undefined) ?? str(a?.['name']) ?? '' });
    }
    if (items.length < PAGE) break;
  }
  const ours = (b: { actionId: string }) => b.actionId === current.id;
  const count = bindings.filter(ours).length;
  const others = bindings.filter((b) => !ours(b));
  let bound: DeployResult['bound'] = 'already';
  if (count !== 1) {
    // The PATCH replaces the whole flow: a binding we could not read would be lost with it.
    if (unreadable) throw new ActionDeployError('auth0_error', `the post-login flow has ${unreadable} binding(s) without an action id; bind ${POST_LOGIN_ACTION_NAME} in the dashboard instead`);
    // Missing: appended at the end. Bound more than once: the first place is kept.
    const first = bindings.findIndex(ours);
    const next = first === -1 ? [...others, { actionId: current.id, actionName: POST_LOGIN_ACTION_NAME, displayName: POST_LOGIN_ACTION_NAME }]
      : bindings.filter((b, i) => !ours(b) || i === first);
    await call('PATCH /actions/triggers/{triggerId}/bindings', () => client.actions.triggers.bindings.updateMany(TRIGGER, {
      bindings: next.map((b) => ({ ref: { type: 'action_id', value: b.actionId }, display_name: b.displayName })),
    }, request).withRawResponse());
    if (count === 0) bound = 'added';
  }

  return {
    actionId: current.id,
    actionName: POST_LOGIN_ACTION_NAME,
    action,
    versionId: version.id,
    ...(version.number !== undefined ? { versionNumber: version.number } : {}),
    deployed,
    bound,
    provisioUrl: settings.provisioUrl,
    bindings: others.map((b) => b.actionName || b.displayName),
  };
}
