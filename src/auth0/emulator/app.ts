/**
 * Builds the emulator's Fastify instance (not listening). Request schemas are compiled with the spec's
 * vendor formats and without Fastify's defaults that would change a request: no `removeAdditional`
 * (Auth0 rejects unknown properties where the spec says `additionalProperties: false`) and no
 * `useDefaults` (the spec's defaults are example values).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { recordAnsweredCall } from '../../emulators/call-log.js';
import { registerAdminRoutes } from './admin-routes.js';
import { loggableBody } from './call-log.js';
import { Auth0Emulator, type Auth0EmulatorOptions } from './emulator.js';
import { installErrorHandlers } from './error-handler.js';
import { sharedSchemaCompilers } from '../../http/schema-compilers.js';
import { SPEC_FORMATS } from './formats.js';
import { AuthorizationServer, registerLogin } from './login.js';
import { registerOAuth } from './oauth.js';
import { registerActionRoutes } from './routes/actions.js';
import { registerConnectionRoutes } from './routes/connections.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerOrganizationMemberRoutes } from './routes/organization-members.js';
import { registerOrganizationRoutes } from './routes/organizations.js';
import { registerResourceServerRoutes } from './routes/resource-servers.js';
import { registerRoleRoutes } from './routes/roles.js';
import { registerScimRoutes } from './routes/scim.js';
import { registerTicketRoutes } from './routes/tickets.js';
import { registerUserRelationRoutes } from './routes/user-relations.js';
import { registerUserRoutes } from './routes/users.js';

export interface BuildAuth0EmulatorOptions extends Auth0EmulatorOptions {
  /** Create the default client and connections (default true). */
  seed?: boolean;
  /** Fastify logger option (default off). */
  logger?: FastifyServerOptions['logger'];
}

export interface BuiltAuth0Emulator {
  app: FastifyInstance;
  emulator: Auth0Emulator;
}

/** Builds an un-listened emulator: use `app.inject()` or `app.listen()`. */
export async function buildAuth0Emulator(options: BuildAuth0EmulatorOptions = {}): Promise<BuiltAuth0Emulator> {
  const emulator = new Auth0Emulator(options);
  if (options.seed !== false) emulator.seed();
  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    ajv: {
      customOptions: {
        removeAdditional: false,
        useDefaults: false,
        coerceTypes: 'array',
        strict: false,
        allErrors: false,
        // The spec's patterns are ECMA-262 without the u flag (e.g. `\:` in GET /users `sort`).
        unicodeRegExp: false,
        formats: { ...SPEC_FORMATS },
      },
    },
    schemaController: { compilersFactory: sharedSchemaCompilers },
  });
  const ctx = emulator.context;

  // The SDK's token request is form-encoded (sdk7 wrapper/token-provider.js).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  // SCIM clients send application/scim+json (RFC 7644 §3.1).
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'));

  app.addHook('onResponse', async (request, reply) => {
    const operation = request.routeOptions.config.operation;
    if (operation?.startsWith('__emulator')) return;
    recordAnsweredCall(ctx.calls, request, reply, Date.now(), {
      operation,
      clientId: request.auth0Caller?.clientId,
      fault: request.faultKind,
      loggableBody,
    });
  });

  installErrorHandlers(app);
  const login = new AuthorizationServer(ctx);
  registerOAuth(app, ctx, login);
  registerLogin(app, login);
  registerUserRoutes(app, ctx);
  registerUserRelationRoutes(app, ctx);
  registerOrganizationRoutes(app, ctx);
  registerOrganizationMemberRoutes(app, ctx);
  registerInvitationRoutes(app, ctx);
  registerRoleRoutes(app, ctx);
  registerResourceServerRoutes(app, ctx);
  registerConnectionRoutes(app, ctx);
  registerTicketRoutes(app, ctx);
  registerActionRoutes(app, ctx);
  registerScimRoutes(app, ctx);
  registerAdminRoutes(app, emulator);
  await app.ready();
  return { app, emulator };
}
