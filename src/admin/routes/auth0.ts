import type { ManagementClient } from 'auth0';
import { ActionDeployError, deployPostLoginAction, readPostLoginActionCode, type FailMode } from '../../auth0/action-deploy.js';
import { RateBudget } from '../../auth0/rate-budget.js';
import type { ScopeCheckTarget } from '../../auth0/scope-check.js';
import { requireOperator } from '../auth.js';
import { AdminError } from '../errors.js';
import { SECURITY, type AdminRoutes } from '../plugin.js';
import { commonErrors } from '../schemas.js';

const str = { type: 'string' } as const;

const scopeProbeSchema = {
  type: 'object',
  properties: {
    scope: str, status: { type: 'string', enum: ['granted', 'missing', 'error'] }, operation: { ...str, description: 'The Management API call asked' },
    httpStatus: { type: 'integer' }, message: str,
  },
} as const;

const scopeCheckSchema = {
  type: 'object',
  description: 'Per scope family, Auth0\'s own answer to a call that needs the scope and changes nothing (docs/auth0-setup.md)',
  properties: {
    status: { type: 'string', enum: ['ok', 'missing', 'unauthorized', 'error'] },
    message: str, domain: str, clientId: str,
    tokenScopes: { type: ['array', 'null'], items: str, description: 'The token\'s scope claim when it is a JWT; shown, not used as the answer' },
    families: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          family: str, label: str, neededFor: str, status: { type: 'string', enum: ['ok', 'missing', 'error'] },
          missing: { type: 'array', items: str }, scopes: { type: 'array', items: scopeProbeSchema },
        },
      },
    },
  },
} as const;

const deployResultSchema = {
  type: 'object',
  properties: {
    actionId: str, actionName: str,
    action: { type: 'string', enum: ['created', 'updated', 'unchanged'], description: 'unchanged: nothing was written to the Action' },
    versionId: { ...str, description: 'The version now deployed' }, versionNumber: { type: 'integer' },
    deployed: { type: 'boolean', description: 'Whether this call deployed a new version' },
    bound: { type: 'string', enum: ['added', 'already'] },
    provisioUrl: { ...str, description: 'The PROVISIO_URL the Action calls' },
    bindings: { type: 'array', items: str, description: 'The other Actions bound to post-login, in execution order' },
  },
} as const;

/** Auth0 errors of a deploy as the admin contract's statuses: the caller's input 400, Auth0's refusals 502/503. */
function adminDeployError(err: ActionDeployError): AdminError {
  switch (err.code) {
    case 'invalid_input': return AdminError.invalid(err.message);
    case 'no_code': return AdminError.unavailable(err.message);
    case 'unavailable': return new AdminError(503, 'auth0_unavailable', err.message);
    case 'missing_scope': return new AdminError(502, 'auth0_missing_scope', err.message);
    case 'unauthorized': return new AdminError(502, 'auth0_unauthorized', err.message);
    default: return new AdminError(502, 'auth0_error', err.message);
  }
}

/**
 * Connecting Auth0 from the console: check an M2M application's scopes, and deploy the Post-Login Action
 * to the configured tenant. Operator only: both act on the whole Auth0 tenant.
 */
export function registerAuth0Routes(r: AdminRoutes): void {
  const { app, options } = r;
  const configured = options.auth0;
  // One SDK client (and cached token) and one budget for this process's tenant: the sync's when it runs.
  let client: ManagementClient | undefined;
  let ownBudget: RateBudget | undefined;
  const budget = (): RateBudget | undefined => options.gateway?.budget ?? (configured ? (ownBudget ??= new RateBudget({ plan: configured.plan })) : undefined);

  app.post('/auth0/check', {
    schema: {
      tags: ['auth0'], summary: 'Which Management API scopes an M2M application has, asked of Auth0 (one harmless call per scope)', security: SECURITY,
      description: 'Without a body, the configured application (AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET) is checked; fields given replace the configured ones. The secret is never logged or returned. Always 200 with a report; `status` says ok, missing (scope names in `families[].missing`), unauthorized or error.',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          domain: { type: 'string', minLength: 1, maxLength: 255, description: 'Auth0 domain, e.g. acme.eu.auth0.com' },
          clientId: { type: 'string', minLength: 1, maxLength: 255 },
          clientSecret: { type: 'string', minLength: 1, maxLength: 1024, description: 'Used for this check only: never stored, logged or returned' },
          actions: { type: 'boolean', default: true, description: 'Also check the Actions scopes that the Action deploy needs' },
        },
      },
      response: { 200: scopeCheckSchema, ...commonErrors },
    },
  }, async (request) => {
    requireOperator(r.principal(request));
    const body = (request.body ?? {}) as { domain?: string; clientId?: string; clientSecret?: string; actions?: boolean };
    const domain = body.domain ?? configured?.domain;
    const clientId = body.clientId ?? configured?.clientId;
    const clientSecret = body.clientSecret ?? configured?.clientSecret;
    if (!domain || !clientId || !clientSecret) {
      throw AdminError.unavailable('No Auth0 tenant is configured in this process (AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET): give domain, clientId and clientSecret to check an application');
    }
    // The emulator's (or a proxy's) base URL applies to its own domain only.
    const sameTenant = configured?.domain === domain;
    const target: ScopeCheckTarget = { domain, clientId, clientSecret, ...(sameTenant && configured?.baseUrl ? { baseUrl: configured.baseUrl } : {}) };
    const shared = sameTenant ? budget() : undefined;
    // The SDK is imported on first use (src/auth0/sdk.ts).
    const { checkAuth0Scopes } = await import('../../auth0/scope-check.js');
    return checkAuth0Scopes(target, { actions: body.actions !== false, ...(shared ? { budget: shared } : {}) });
  });

  app.post('/auth0/action/deploy', {
    schema: {
      tags: ['auth0'], summary: 'Create or update the Post-Login Action, set its secrets, deploy it and bind it to post-login (idempotent)', security: SECURITY,
      description: 'Deploys action/post-login.js to the configured Auth0 tenant as `provisio-post-login` with the secrets PROVISIO_URL, PROVISIO_SECRET (= PROVISIO_ACTION_SECRET), FAIL_MODE and TIMEOUT_MS. A second call with the same settings writes nothing. Other Actions bound to post-login keep their order; ours is appended when missing. 503 when no Auth0 tenant or no PROVISIO_ACTION_SECRET is configured; 502 when Auth0 refuses (a missing scope is named).',
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          publicUrl: { type: 'string', minLength: 1, maxLength: 2048, description: 'Where the Action calls Provisio (default PUBLIC_URL, else this request\'s origin); https unless localhost' },
          failMode: { type: 'string', enum: ['closed', 'open'], default: 'closed' },
          timeoutMs: { type: 'integer', minimum: 100, maximum: 15_000, default: 5000, description: 'How long the Action waits for Provisio' },
        },
      },
      response: { 200: deployResultSchema, 502: commonErrors[503], ...commonErrors },
    },
  }, async (request) => {
    const principal = r.principal(request);
    requireOperator(principal);
    if (!configured) throw AdminError.unavailable('No Auth0 tenant is configured in this process (AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET): the Action is deployed to the tenant Provisio syncs into');
    if (!options.actionSecret) throw AdminError.unavailable('PROVISIO_ACTION_SECRET is not set: it becomes the Action\'s PROVISIO_SECRET, and Provisio answers the Action only when it is set');
    const body = (request.body ?? {}) as { publicUrl?: string; failMode?: FailMode; timeoutMs?: number };
    const publicUrl = body.publicUrl ?? r.origin(request);
    try {
      const code = await readPostLoginActionCode();
      client ??= (await import('../../auth0/client.js')).createManagementClient({ ...configured, timeoutSeconds: 15 });
      const shared = budget();
      const result = await deployPostLoginAction(client,
        { code, provisioUrl: publicUrl, actionSecret: options.actionSecret, ...(body.failMode ? { failMode: body.failMode } : {}), ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}) },
        { secrets: [configured.clientSecret], fairnessKey: 'admin', ...(shared ? { budget: shared } : {}) });
      request.log.info({ actor: principal.actor, action: result.action, actionId: result.actionId, versionId: result.versionId, deployed: result.deployed, bound: result.bound }, 'Post-Login Action deployed');
      return result;
    } catch (err) {
      if (err instanceof ActionDeployError) throw adminDeployError(err);
      throw err;
    }
  });
}
