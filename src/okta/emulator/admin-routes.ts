/**
 * HTTP inspection and control under `/__emulator/…`, a prefix no Okta API uses, in the spirit of the Auth0
 * emulator's (src/auth0/emulator/admin-routes.ts). Unauthenticated: the emulator is a local test tool and
 * binds to loopback by default. Mirrors the running emulator's `calls`, `faults`, `reset()` and
 * `registerServiceApp()`; these requests are not recorded in the call log.
 */
import type { JsonWebKey } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { callFilter } from '../../emulators/call-log.js';
import type { FaultRule } from '../../emulators/faults.js';
import { resetOrg, type OktaEmulatorContext } from './context.js';
import { validationFailed } from './errors.js';
import { FaultRuleError } from './faults.js';
import { ServiceAppRegistrationError } from './service-apps.js';

/** The `oktaOperation` of admin routes: the call-log hook skips it. */
export const ADMIN_OPERATION = '__emulator';
const RULE_NUMBERS = ['errorRate', 'errorStatus', 'latencyMs', 'timeoutRate', 'resetRate', 'times'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function faultRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw validationFailed(['rule: must be an object']);
  const rule: FaultRule = {};
  for (const key of RULE_NUMBERS) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw validationFailed([`${key}: must be a number`]);
    rule[key] = v;
  }
  const phase = value['errorPhase'];
  if (phase !== undefined && phase !== 'before' && phase !== 'after') throw validationFailed(['errorPhase: must be "before" or "after"']);
  if (phase !== undefined) rule.errorPhase = phase;
  return rule;
}

/** Runs `action`, turning the emulator's own input errors into 400s. */
function checked<T>(action: () => T): T {
  try {
    return action();
  } catch (err) {
    if (err instanceof FaultRuleError || err instanceof ServiceAppRegistrationError) throw validationFailed([`request: ${err.message}`]);
    throw err;
  }
}

/** Registers the `/__emulator` routes. */
export function registerAdminRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  const config = { oktaOperation: ADMIN_OPERATION };
  const prefix = '/__emulator';

  app.get(`${prefix}/calls`, { config }, async (request) => ctx.calls.list(callFilter(request.query)));
  app.delete(`${prefix}/calls`, { config }, async (_request, reply) => {
    ctx.calls.clear();
    return reply.status(204).send();
  });

  app.get(`${prefix}/faults`, { config }, async () => ({ rules: ctx.faults.list() }));
  // POST, and PUT as on the Auth0 emulator: `{target: "METHOD /path-template" | "*", rule}`.
  for (const method of ['POST', 'PUT'] as const) {
    app.route({
      method,
      url: `${prefix}/faults`,
      config,
      handler: async (request, reply) => {
        const b = isRecord(request.body) ? request.body : {};
        if (typeof b['target'] !== 'string') throw validationFailed(['target: is required ("METHOD /path-template" or "*")']);
        const target = b['target'];
        const rule = faultRule(b['rule']);
        checked(() => ctx.faults.set(target, rule));
        return reply.status(204).send();
      },
    });
  }
  app.delete(`${prefix}/faults`, { config }, async (request, reply) => {
    const q = isRecord(request.query) ? request.query : {};
    ctx.faults.clear(typeof q['target'] === 'string' ? q['target'] : undefined);
    return reply.status(204).send();
  });

  app.post(`${prefix}/reset`, { config }, async (_request, reply) => {
    resetOrg(ctx);
    return reply.status(204).send();
  });

  app.post(`${prefix}/service-apps`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    if (!isRecord(b['publicJwk'])) throw validationFailed(['publicJwk: is required (a public RSA or EC JWK)']);
    if (!Array.isArray(b['scopes']) || !b['scopes'].every((s) => typeof s === 'string')) {
      throw validationFailed(['scopes: must be an array of Okta scopes']);
    }
    const publicJwk = b['publicJwk'] as JsonWebKey;
    const scopes = b['scopes'] as string[];
    const clientId = typeof b['clientId'] === 'string' ? b['clientId'] : undefined;
    const registered = checked(() => ctx.serviceApps.register({ publicJwk, scopes, ...(clientId !== undefined ? { clientId } : {}) }));
    return reply.status(201).send({ clientId: registered });
  });
}
