/**
 * `POST /api/v1/users/{id}/lifecycle/{activate,deactivate,reactivate}`; the transitions themselves are
 * in lifecycle.ts. Activation answers an activation token unless `sendEmail` is true (Okta then emails it
 * and answers `{}`); deactivation answers 200 with no body.
 */
import type { FastifyInstance } from 'fastify';
import { timestamp, type OktaEmulatorContext } from '../context.js';
import { newActivationToken } from '../ids.js';
import { statusAfterActivate, statusAfterDeactivate, statusAfterReactivate } from '../lifecycle.js';
import { registerOktaRoute, type OktaRequest } from '../route.js';
import type { OktaUserRecord, OktaUserStatus } from '../state.js';
import { requireUser } from './users.js';

function moveTo(ctx: OktaEmulatorContext, user: OktaUserRecord, status: OktaUserStatus): void {
  const now = timestamp(ctx);
  if (user.status !== status) user.statusChanged = now;
  user.status = status;
  user.lastUpdated = now;
}

function activationAnswer(req: OktaRequest, sendEmailByDefault: boolean) {
  const sendEmail = req.url.searchParams.get('sendEmail');
  if (sendEmail === null ? sendEmailByDefault : sendEmail !== 'false') return { status: 200, body: {} };
  const activationToken = newActivationToken();
  return { status: 200, body: { activationToken, activationUrl: `${req.origin}/welcome/${activationToken}` } };
}

/** Registers the three lifecycle operations. */
export function registerUserLifecycleRoutes(app: FastifyInstance, ctx: OktaEmulatorContext): void {
  const base = '/api/v1/users/{userId}/lifecycle';
  registerOktaRoute(app, ctx, 'POST', `${base}/activate`, 'user', (req) => {
    const user = requireUser(ctx, req.params['userId'] ?? '');
    moveTo(ctx, user, statusAfterActivate(user));
    user.activated = timestamp(ctx);
    return activationAnswer(req, true);
  });
  registerOktaRoute(app, ctx, 'POST', `${base}/reactivate`, 'user', (req) => {
    const user = requireUser(ctx, req.params['userId'] ?? '');
    moveTo(ctx, user, statusAfterReactivate(user.status));
    return activationAnswer(req, false);
  });
  registerOktaRoute(app, ctx, 'POST', `${base}/deactivate`, 'user', (req) => {
    const user = requireUser(ctx, req.params['userId'] ?? '');
    moveTo(ctx, user, statusAfterDeactivate(user.status));
    return { status: 200 };
  });
}
