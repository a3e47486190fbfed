import type { FastifyError, FastifyInstance } from 'fastify';
import { isDatabaseUnavailable, requestOutageLog } from '../../db/errors.js';
import type { ScimPrincipal } from '../auth.js';
import { parseBulkRequest, runBulk } from '../bulk.js';
import { ScimError } from '../errors.js';
import { scimContext, sendScim, type ScimPluginOptions } from '../plugin.js';

/** Spends the rest of a request's cost from the tenant's SCIM_RATE_LIMIT buckets; the 429 when they refuse. */
export type ChargeRequest = (principal: ScimPrincipal, cost: number) => ScimError | undefined;

/**
 * `POST /Bulk` (RFC 7644 §3.7). The body limit is the bulk's own `maxPayloadSize`, the count and the
 * throttle are checked before any operation runs, and the answer is a 200 BulkResponse whatever its
 * operations' statuses (src/scim/bulk.ts: each operation is atomic, the request is not).
 */
export function registerBulkRoute(app: FastifyInstance, options: ScimPluginOptions, charge: ChargeRequest): void {
  const limits = options.settings.bulk;
  app.post('/Bulk', {
    bodyLimit: limits.maxPayloadBytes,
    // Fastify rejects the body before the handler runs; rethrown, the error reaches the SCIM error handler,
    // which would otherwise name SCIM_MAX_BODY_BYTES (RFC 7644 §3.7.4: say which limit was exceeded).
    errorHandler: (err: FastifyError) => {
      if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err;
      throw new ScimError(413, `The BulkRequest body is larger than the maxPayloadSize of ${limits.maxPayloadBytes} bytes (SCIM_BULK_MAX_PAYLOAD_BYTES)`, 'tooLarge');
    },
  }, async (request, reply) => {
    const principal = request.scimPrincipal!;
    const bulk = parseBulkRequest(request.body, limits);
    // One token per operation: a bulk of N writes costs what N single requests would.
    const refused = charge(principal, bulk.operations.length);
    if (refused) throw refused;
    const userAgent = request.headers['user-agent'];
    const response = await runBulk(scimContext(request, options), bulk, {
      principal,
      dialect: { setting: principal.dialect, ...(userAgent ? { userAgent } : {}), query: request.query as Record<string, unknown> },
      onUnexpected: (err) => {
        if (isDatabaseUnavailable(err)) requestOutageLog.report(request.log, err, 'a Bulk request stopped at the failing operation');
        else request.log.error({ err }, 'unhandled error in a SCIM Bulk operation');
      },
    });
    return sendScim(reply, 200, response);
  });
}
