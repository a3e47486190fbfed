/**
 * Actions: list (`actionName`, `triggerId`, `deployed`, `installed`; `{actions, total, page, per_page}`),
 * create (201; 409 on a taken name), get, update (the draft: `all_changes_deployed` turns false), delete
 * (204; 400 while bound unless `force`), deploy (202: a new immutable version), and a trigger's bindings
 * (list; PATCH replaces the whole list, refs by `action_id`, `action_name` or `binding_id`). Secrets are
 * returned as `{name, updated_at}` only (spec ActionSecretResponse). Limits: research/auth0.md §1.5 and
 * §4.1 (100 Actions per tenant, 20 per trigger, 30 secrets, 10 dependencies, 100 kB of code). A draft is
 * built `settings.actionBuildMs` after its last change; deploying earlier is refused with the message
 * auth0-deploy-cli waits on ("must be in the 'built' state").
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorContext } from '../context.js';
import { badRequest, conflict, invalidBody } from '../errors.js';
import { newActionId } from '../ids.js';
import { isRecord } from '../metadata.js';
import { registerOperation } from '../route.js';
import type { EmuAction, EmuActionDependency, EmuActionSecret, EmuActionVersion, EmuTriggerBinding } from '../types.js';

const MAX_ACTIONS = 100;
const MAX_BINDINGS_PER_TRIGGER = 20;
const MAX_SECRETS = 30;
const MAX_SECRET_NAME = 128;
const MAX_SECRET_VALUE = 4096;
const MAX_DEPENDENCIES = 10;
const MAX_CODE_BYTES = 100 * 1024;
const RUNTIMES = ['node18', 'node22'];
const DEFAULT_PAGE_SIZE = 20;

type Triggers = EmuAction['supported_triggers'];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function triggersOf(value: unknown): Triggers {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((t) => ({ id: String(t['id']), ...(typeof t['version'] === 'string' ? { version: t['version'] } : {}) }));
}

function dependenciesOf(value: unknown): EmuActionDependency[] {
  if (!Array.isArray(value)) return [];
  const deps = value.filter(isRecord).map((d) => ({
    name: String(d['name'] ?? ''),
    ...(typeof d['version'] === 'string' ? { version: d['version'] } : {}),
    ...(typeof d['registry_url'] === 'string' ? { registry_url: d['registry_url'] } : {}),
  }));
  if (deps.length > MAX_DEPENDENCIES) throw invalidBody(`An action can have at most ${MAX_DEPENDENCIES} dependencies.`);
  return deps;
}

/**
 * The secrets after a create or PATCH: the list given replaces the stored one; an entry without `value`
 * keeps the value stored under that name (secret values can never be read back, so a client re-sending
 * names only must not wipe them).
 */
function secretsOf(value: unknown, previous: readonly EmuActionSecret[], now: string): EmuActionSecret[] {
  if (!Array.isArray(value)) return [];
  const out: EmuActionSecret[] = [];
  for (const s of value) {
    if (!isRecord(s) || typeof s['name'] !== 'string' || s['name'].length === 0) throw invalidBody("Payload validation error: 'Missing required property: name' on property secrets.");
    const name = s['name'];
    if (name.length > MAX_SECRET_NAME) throw invalidBody(`Secret names are at most ${MAX_SECRET_NAME} characters.`);
    if (out.some((o) => o.name === name)) throw invalidBody(`Duplicate secret name: ${name}`);
    const old = previous.find((p) => p.name === name);
    if (typeof s['value'] === 'string') {
      if (s['value'].length > MAX_SECRET_VALUE) throw invalidBody(`Secret values are at most ${MAX_SECRET_VALUE} characters.`);
      out.push({ name, value: s['value'], updated_at: old && old.value === s['value'] ? old.updated_at : now });
    } else if (old) {
      out.push({ ...old });
    } else {
      throw invalidBody(`A value is required for the new secret ${name}.`);
    }
  }
  if (out.length > MAX_SECRETS) throw invalidBody(`An action can have at most ${MAX_SECRETS} secrets.`);
  return out;
}

function checkTriggers(triggers: Triggers): void {
  // "At this time, an action can only target a single trigger at a time." (spec)
  if (triggers.length !== 1) throw invalidBody('An action must support exactly one trigger.');
}

function checkRuntime(runtime: string): void {
  if (!RUNTIMES.includes(runtime)) throw invalidBody(`Invalid runtime "${runtime}"; supported: ${RUNTIMES.join(', ')}.`);
}

function checkCode(code: string): void {
  if (Buffer.byteLength(code, 'utf8') > MAX_CODE_BYTES) throw invalidBody('The action code exceeds the maximum size of 100 kB.');
}

const secretNames = (secrets: readonly EmuActionSecret[]) => secrets.map((s) => ({ name: s.name, updated_at: s.updated_at }));

/** Spec ActionBase: the summary a version carries. */
function actionBase(a: EmuAction): Record<string, unknown> {
  return { id: a.id, name: a.name, supported_triggers: a.supported_triggers, all_changes_deployed: a.all_changes_deployed, created_at: a.created_at, updated_at: a.updated_at };
}

/** Spec DeployActionResponseContent / ActionDeployedVersion. */
function versionView(a: EmuAction, v: EmuActionVersion): Record<string, unknown> {
  return {
    id: v.id, action_id: a.id, code: v.code, dependencies: v.dependencies, deployed: a.deployed_version_id === v.id,
    runtime: v.runtime, secrets: v.secrets, status: 'built', number: v.number, errors: [], action: actionBase(a),
    built_at: v.created_at, created_at: v.created_at, updated_at: v.created_at, supported_triggers: v.supported_triggers,
  };
}

export function registerActionRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { state } = ctx;
  const built = (a: EmuAction): boolean => ctx.now() >= a.built_at;

  /** Spec Action (also Get/Create/UpdateActionResponseContent). */
  const actionView = (a: EmuAction): Record<string, unknown> => {
    const deployed = a.versions.find((v) => v.id === a.deployed_version_id);
    return {
      ...actionBase(a), code: a.code, dependencies: a.dependencies, runtime: a.runtime, secrets: secretNames(a.secrets),
      status: built(a) ? 'built' : 'building', ...(built(a) ? { built_at: iso(a.built_at) } : {}),
      ...(deployed ? { deployed_version: versionView(a, deployed) } : {}),
    };
  };

  const bindingView = (b: EmuTriggerBinding): Record<string, unknown> => ({
    id: b.id, trigger_id: b.trigger_id, display_name: b.display_name, action: actionView(state.action(b.action_id)), created_at: b.created_at, updated_at: b.updated_at,
  });

  const nameTaken = (name: string, except?: string): boolean => [...state.actions.values()].some((a) => a.id !== except && a.name === name);

  const deploy = (a: EmuAction): EmuActionVersion => {
    if (!built(a)) throw badRequest("An action must be in the 'built' state before it can be deployed. Try again once the build has finished.", 'invalid_body');
    const version: EmuActionVersion = {
      id: newActionId(), number: a.versions.length + 1, code: a.code, runtime: a.runtime, dependencies: a.dependencies.map((d) => ({ ...d })),
      secrets: secretNames(a.secrets), supported_triggers: a.supported_triggers.map((t) => ({ ...t })), created_at: iso(ctx.now()),
    };
    a.versions.push(version);
    a.deployed_version_id = version.id;
    a.all_changes_deployed = true;
    return version;
  };

  /** `{<key>, total, page, per_page}` — the Actions API's own paging (no `include_totals`). */
  const page = <T>(items: readonly T[], query: Record<string, unknown>, key: string): Record<string, unknown> => {
    const p = typeof query['page'] === 'number' ? Math.max(0, query['page']) : 0;
    const perPage = typeof query['per_page'] === 'number' && query['per_page'] > 0 ? query['per_page'] : DEFAULT_PAGE_SIZE;
    return { [key]: items.slice(p * perPage, (p + 1) * perPage), total: items.length, page: p, per_page: perPage };
  };

  registerOperation(app, ctx, 'GET /actions/actions', ({ query }) => {
    const name = typeof query['actionName'] === 'string' ? query['actionName'] : undefined;
    const trigger = typeof query['triggerId'] === 'string' ? query['triggerId'] : undefined;
    const list = [...state.actions.values()].filter((a) =>
      (name === undefined || a.name === name)
      && (trigger === undefined || a.supported_triggers.some((t) => t.id === trigger))
      && (query['deployed'] !== true || a.deployed_version_id !== undefined)
      // No marketplace integrations are installed in the emulator: `installed=true` finds nothing.
      && query['installed'] !== true);
    return { status: 200, body: page(list.map(actionView), query, 'actions') };
  });

  registerOperation(app, ctx, 'POST /actions/actions', ({ body }) => {
    const b = isRecord(body) ? body : {};
    const name = String(b['name']);
    if (name.trim() === '') throw invalidBody('The action name must not be empty.');
    if (nameTaken(name)) throw conflict(`An action with the name "${name}" already exists.`);
    if (state.actions.size >= MAX_ACTIONS) throw badRequest(`The maximum number of actions (${MAX_ACTIONS}) has been reached.`);
    const supported = triggersOf(b['supported_triggers']);
    checkTriggers(supported);
    const runtime = typeof b['runtime'] === 'string' ? b['runtime'] : 'node22';
    checkRuntime(runtime);
    const code = typeof b['code'] === 'string' ? b['code'] : '';
    checkCode(code);
    const now = iso(ctx.now());
    const action: EmuAction = {
      id: newActionId(), name, supported_triggers: supported, code, runtime, dependencies: dependenciesOf(b['dependencies']),
      secrets: secretsOf(b['secrets'], [], now), created_at: now, updated_at: now, built_at: ctx.now() + ctx.settings.actionBuildMs,
      all_changes_deployed: false, versions: [],
    };
    state.actions.set(action.id, action);
    if (b['deploy'] === true) {
      // Auth0 deploys it once built; the emulator does not make the caller wait for that.
      action.built_at = ctx.now();
      deploy(action);
    }
    return { status: 201, body: actionView(action) };
  });

  registerOperation(app, ctx, 'GET /actions/actions/{id}', ({ params }) => ({ status: 200, body: actionView(state.action(params['id'] ?? '')) }));

  registerOperation(app, ctx, 'PATCH /actions/actions/{id}', ({ params, body }) => {
    const action = state.action(params['id'] ?? '');
    const b = isRecord(body) ? body : {};
    const now = iso(ctx.now());
    if (typeof b['name'] === 'string') {
      if (b['name'].trim() === '') throw invalidBody('The action name must not be empty.');
      if (nameTaken(b['name'], action.id)) throw conflict(`An action with the name "${b['name']}" already exists.`);
    }
    // Validate everything before changing anything: a refused PATCH leaves the draft as it was.
    const supported = b['supported_triggers'] !== undefined ? triggersOf(b['supported_triggers']) : undefined;
    if (supported) checkTriggers(supported);
    if (typeof b['runtime'] === 'string') checkRuntime(b['runtime']);
    if (typeof b['code'] === 'string') checkCode(b['code']);
    const dependencies = b['dependencies'] !== undefined ? dependenciesOf(b['dependencies']) : undefined;
    const secrets = b['secrets'] !== undefined ? secretsOf(b['secrets'], action.secrets, now) : undefined;
    if (typeof b['name'] === 'string') action.name = b['name'];
    if (supported) action.supported_triggers = supported;
    if (typeof b['runtime'] === 'string') action.runtime = b['runtime'];
    if (typeof b['code'] === 'string') action.code = b['code'];
    if (dependencies) action.dependencies = dependencies;
    if (secrets) action.secrets = secrets;
    action.updated_at = now;
    action.built_at = ctx.now() + ctx.settings.actionBuildMs;
    action.all_changes_deployed = false;
    return { status: 200, body: actionView(action) };
  });

  registerOperation(app, ctx, 'DELETE /actions/actions/{id}', ({ params, query }) => {
    const action = state.action(params['id'] ?? '');
    const bound = state.triggerBindings.some((b) => b.action_id === action.id);
    // "An action must be unbound from all triggers before it can be deleted" (spec); `force` detaches them.
    if (bound && query['force'] !== true) throw badRequest('The action is bound to a trigger: remove its bindings first, or delete with force=true.', 'invalid_body');
    state.triggerBindings = state.triggerBindings.filter((b) => b.action_id !== action.id);
    state.actions.delete(action.id);
    return { status: 204 };
  });

  registerOperation(app, ctx, 'POST /actions/actions/{id}/deploy', ({ params }) => {
    const action = state.action(params['id'] ?? '');
    return { status: 202, body: versionView(action, deploy(action)) };
  });

  registerOperation(app, ctx, 'GET /actions/triggers/{triggerId}/bindings', ({ params, query }) => ({
    status: 200,
    body: page(state.bindingsOf(params['triggerId'] ?? '').map(bindingView), query, 'bindings'),
  }));

  registerOperation(app, ctx, 'PATCH /actions/triggers/{triggerId}/bindings', ({ params, body }) => {
    const triggerId = params['triggerId'] ?? '';
    const b = isRecord(body) ? body : {};
    if (!Array.isArray(b['bindings'])) throw invalidBody("Payload validation error: 'Missing required property: bindings'.");
    const current = state.bindingsOf(triggerId);
    const items = b['bindings'].filter(isRecord);
    if (items.length > MAX_BINDINGS_PER_TRIGGER) throw invalidBody(`A trigger can have at most ${MAX_BINDINGS_PER_TRIGGER} bound actions.`);
    const now = iso(ctx.now());
    const reused = new Set<string>();
    const next: EmuTriggerBinding[] = items.map((item) => {
      const ref = isRecord(item['ref']) ? item['ref'] : {};
      const value = typeof ref['value'] === 'string' ? ref['value'] : '';
      let action: EmuAction | undefined;
      let previous: EmuTriggerBinding | undefined;
      if (ref['type'] === 'binding_id') {
        previous = current.find((c) => c.id === value);
        action = previous ? state.actions.get(previous.action_id) : undefined;
      } else if (ref['type'] === 'action_name') {
        action = state.actionByName(value);
      } else {
        action = state.actions.get(value);
      }
      // The spec documents no 404 here: an unknown reference is a bad body.
      if (!action) throw invalidBody(`No action or binding found for ref ${String(ref['type'] ?? 'action_id')} "${value}".`);
      if (!action.supported_triggers.some((t) => t.id === triggerId)) throw invalidBody(`The action "${action.name}" does not support the trigger ${triggerId}.`);
      if (!action.deployed_version_id) throw invalidBody(`The action "${action.name}" must be deployed before it can be bound.`);
      // An action bound before keeps its binding id (first unused one of this trigger).
      previous ??= current.find((c) => c.action_id === action.id && !reused.has(c.id));
      if (previous) reused.add(previous.id);
      const displayName = typeof item['display_name'] === 'string' ? item['display_name'] : previous?.display_name ?? action.name;
      return {
        id: previous?.id ?? newActionId(), trigger_id: triggerId, action_id: action.id, display_name: displayName,
        created_at: previous?.created_at ?? now, updated_at: now,
      };
    });
    state.triggerBindings = [...state.triggerBindings.filter((x) => x.trigger_id !== triggerId), ...next];
    return { status: 200, body: { bindings: next.map(bindingView) } };
  });
}
