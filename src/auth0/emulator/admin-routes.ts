/**
 * HTTP inspection and control under `/__emulator/…`, a prefix no Auth0 API uses. Unauthenticated: the
 * emulator is a local test tool and binds to loopback by default. Mirrors the `Auth0Emulator` methods.
 */
import type { FastifyInstance } from 'fastify';
import { callFilter } from '../../emulators/call-log.js';
import type { FaultRule } from '../../emulators/faults.js';
import type { Auth0Emulator } from './emulator.js';
import { badRequest } from './errors.js';
import { isRecord } from './metadata.js';
import { RATE_PLANS, type BucketLimit, type RateCategory, type RatePlan } from './rate-limit.js';
import type { ConnectionStrategy, EmulatorStateData } from './types.js';

const PLANS: readonly RatePlan[] = ['free', 'essentials', 'enterprise', 'off'];
const STRATEGIES: readonly ConnectionStrategy[] = ['auth0', 'samlp', 'oidc', 'okta', 'waad', 'adfs', 'pingfederate'];
const RULE_NUMBERS = ['errorRate', 'errorStatus', 'latencyMs', 'timeoutRate', 'resetRate', 'times'] as const;

function faultRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw badRequest('rule must be an object');
  const rule: FaultRule = {};
  for (const key of RULE_NUMBERS) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw badRequest(`${key} must be a number`);
    rule[key] = v;
  }
  if (value['errorPhase'] === 'before' || value['errorPhase'] === 'after') rule.errorPhase = value['errorPhase'];
  return rule;
}

function bucketLimit(value: unknown): BucketLimit | null {
  if (value === null) return null;
  if (isRecord(value) && typeof value['burst'] === 'number' && typeof value['perSecond'] === 'number') {
    return { burst: value['burst'], perSecond: value['perSecond'] };
  }
  throw badRequest('bucket limits are {burst, perSecond} or null');
}

function isStateData(value: unknown): value is EmulatorStateData {
  return isRecord(value) && ['clients', 'connections', 'users', 'organizations', 'roles', 'invitations', 'tickets', 'scim_configurations']
    .every((k) => Array.isArray(value[k])) && isRecord(value['tokens']);
}

/** Registers the `/__emulator` routes. */
export function registerAdminRoutes(app: FastifyInstance, emulator: Auth0Emulator): void {
  const config = { operation: '__emulator' };
  const prefix = '/__emulator';

  app.get(`${prefix}/state`, { config }, async () => emulator.snapshot());
  app.put(`${prefix}/state`, { config }, async (request, reply) => {
    if (!isStateData(request.body)) throw badRequest('body must be a state snapshot from GET /__emulator/state');
    emulator.restore(request.body);
    return reply.status(204).send();
  });
  app.post(`${prefix}/reset`, { config }, async (request) => {
    const seed = isRecord(request.body) && request.body['seed'] === false ? false : true;
    return { seed: emulator.reset({ seed }) ?? null };
  });

  app.get(`${prefix}/calls`, { config }, async (request) => emulator.callLog(callFilter(request.query)));
  app.delete(`${prefix}/calls`, { config }, async (_request, reply) => {
    emulator.clearCallLog();
    return reply.status(204).send();
  });

  app.get(`${prefix}/faults`, { config }, async () => ({
    rules: emulator.faults.list(),
    memberListDelayMs: emulator.faults.memberListDelayMs,
  }));
  app.put(`${prefix}/faults`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    if (typeof b['target'] !== 'string') throw badRequest('target is required ("METHOD /path-template", "SCIM" or "*")');
    emulator.injectFault(b['target'], faultRule(b['rule']));
    return reply.status(204).send();
  });
  app.delete(`${prefix}/faults`, { config }, async (request, reply) => {
    const q = isRecord(request.query) ? request.query : {};
    emulator.clearFaults(typeof q['target'] === 'string' ? q['target'] : undefined);
    return reply.status(204).send();
  });
  app.put(`${prefix}/consistency`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    if (typeof b['memberListDelayMs'] !== 'number') throw badRequest('memberListDelayMs must be a number');
    emulator.setMemberListDelay(b['memberListDelayMs']);
    return reply.status(204).send();
  });

  app.get(`${prefix}/rate-limits`, { config }, async () => ({ plan: emulator.limiter.currentPlan, plans: RATE_PLANS }));
  app.put(`${prefix}/rate-limits`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    if (b['plan'] !== undefined) {
      const plan = PLANS.find((p) => p === b['plan']);
      if (!plan) throw badRequest(`plan must be one of ${PLANS.join(', ')}`);
      emulator.setPlan(plan);
    }
    if (isRecord(b['buckets'])) {
      for (const [name, limit] of Object.entries(b['buckets'])) {
        emulator.setRateLimit(name as RateCategory | 'global', bucketLimit(limit));
      }
    }
    return reply.status(204).send();
  });

  app.post(`${prefix}/clients`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    const options: Parameters<Auth0Emulator['createClient']>[0] & object = {};
    if (typeof b['name'] === 'string') options.name = b['name'];
    if (Array.isArray(b['scopes'])) options.scopes = b['scopes'].map(String);
    if (b['app_type'] === 'spa' || b['app_type'] === 'regular_web') options.appType = b['app_type'];
    if (Array.isArray(b['callbacks'])) options.callbacks = b['callbacks'].map(String);
    if (Array.isArray(b['web_origins'])) options.webOrigins = b['web_origins'].map(String);
    if (Array.isArray(b['connections'])) options.connections = b['connections'].map(String);
    return reply.status(201).send(emulator.createClient(options));
  });
  app.post(`${prefix}/connections`, { config }, async (request, reply) => {
    const b = isRecord(request.body) ? request.body : {};
    const strategy = STRATEGIES.find((s) => s === b['strategy']);
    if (typeof b['name'] !== 'string' || !strategy) throw badRequest(`name and strategy (${STRATEGIES.join(', ')}) are required`);
    const enabledClients = Array.isArray(b['enabledClients']) ? b['enabledClients'].map(String) : [];
    return reply.status(201).send(emulator.createConnection({ name: b['name'], strategy, enabledClients }));
  });
  app.post<{ Params: { id: string } }>(`${prefix}/connections/:id/scim-tokens`, { config }, async (request, reply) => {
    return reply.status(201).send(emulator.createScimToken(request.params.id));
  });
  app.post<{ Params: { id: string } }>(`${prefix}/users/:id/sessions`, { config }, async (request, reply) => {
    return reply.status(201).send(emulator.addSession(request.params.id));
  });
}
