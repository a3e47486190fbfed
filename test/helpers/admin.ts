import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import Fastify, { type FastifyInstance } from 'fastify';
import { issueAdminToken } from '../../src/admin/admin-tokens.js';
import type { DatabaseHandle } from '../../src/db/client.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AdminResponse {
  readonly status: number;
  readonly body: any;
  readonly headers: Record<string, unknown>;
}

/** Calls `/v1/admin<path>` with a bearer credential through `inject()`. */
export type AdminCall = (method: Method, path: string, body?: unknown) => Promise<AdminResponse>;

export function adminCaller(app: FastifyInstance, credential: string | undefined): AdminCall {
  return async (method, path, body) => {
    const res = await app.inject({
      method,
      url: `/v1/admin${path}`,
      headers: {
        ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
  };
}

/** An operator admin token and a caller using it. */
export async function operator(app: FastifyInstance, database: DatabaseHandle): Promise<AdminCall> {
  const { token } = await issueAdminToken(database.db, { label: 'test operator' });
  return adminCaller(app, token);
}

/** A delegated org-admin caller for one tenant. */
export async function orgAdmin(app: FastifyInstance, database: DatabaseHandle, tenant: { id: string; name: string }): Promise<AdminCall> {
  const { token } = await issueAdminToken(database.db, { tenant });
  return adminCaller(app, token);
}

/**
 * A stand-in for an Auth0 tenant's token signing: an RS256 key pair generated at test time, its JWKS
 * served on a local port (`<issuer>.well-known/jwks.json`, as Auth0 publishes it), and a signer.
 */
export interface LocalIssuer {
  readonly issuer: string;
  readonly jwksFetches: () => number;
  /** Signs with the issuer's key; claims may set `exp` themselves (then no default lifetime is added). */
  sign(claims: Record<string, unknown>, options?: { expiresIn?: string; kid?: string; audience?: string; issuer?: string }): string;
  close(): Promise<void>;
}

export async function localIssuer(audience: string): Promise<LocalIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = Fastify();
  server.get('/.well-known/jwks.json', async () => {
    fetches++;
    return { keys: [jwk] };
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const issuer = `http://127.0.0.1:${port}/`;
  const signer = Fastify();
  await signer.register(fastifyJwt, {
    secret: { private: privateKey.export({ format: 'pem', type: 'pkcs8' }), public: publicKey.export({ format: 'pem', type: 'spki' }) },
    sign: { algorithm: 'RS256' },
  });
  await signer.ready();
  return {
    issuer,
    jwksFetches: () => fetches,
    sign: (claims, options = {}) => signer.jwt.sign(
      { sub: 'auth0|admin-1', ...claims },
      { kid: options.kid ?? kid, iss: options.issuer ?? issuer, aud: options.audience ?? audience, ...(claims.exp ? {} : { expiresIn: options.expiresIn ?? '5m' }) } as never,
    ),
    close: async () => {
      await server.close();
      await signer.close();
    },
  };
}
