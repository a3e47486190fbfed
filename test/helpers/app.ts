import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { createTenant } from '../../src/admin/tenants.js';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import type { EventsRuntime } from '../../src/events/runtime.js';
import type { SecretBox } from '../../src/secrets.js';
import { testDatabase } from './db.js';

export const SCIM_JSON = 'application/scim+json';
export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A SCIM client bound to one tenant and token, speaking to the app through `inject()`. */
export interface ScimClient {
  readonly tenant: string;
  readonly token: string;
  request(method: Method, path: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse & { body: string }>;
  json(method: Method, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly config: Config;
  /** The `acme` tenant's client. */
  readonly scim: ScimClient;
  /** Creates another tenant and returns its client. */
  tenant(name: string): Promise<ScimClient>;
  client(tenant: string, token: string): ScimClient;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** What some tests give the app besides its configuration. */
export interface TestAppExtras {
  /** Seals webhook signing secrets and binding tokens (the app has none otherwise). */
  readonly secrets?: SecretBox;
  /** The webhook lane, started on the test's database (its job queue needs the database's pool). */
  readonly webhooks?: (database: DatabaseHandle, config: Config) => Promise<EventsRuntime>;
}

/** An app on its own database with one tenant (`acme`) and a full-scope token. */
export async function testApp(t: TapLike, env: Record<string, string> = {}, extras: TestAppExtras = {}): Promise<TestApp> {
  const database = await testDatabase(t);
  const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_TOKEN_CACHE_MS: '0', ...env });
  const webhooks = extras.webhooks ? await extras.webhooks(database, config) : undefined;
  const app = await buildApp({
    config, database, logger: pino({ level: 'silent' }),
    ...(extras.secrets ? { secrets: extras.secrets } : {}),
    ...(webhooks ? { webhooks } : {}),
  });
  t.teardown(() => app.close());

  const client = (tenant: string, token: string): ScimClient => {
    const request = async (method: Method, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await app.inject({
        method,
        url: `/scim/v2/${tenant}${path}`,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': SCIM_JSON } : {}),
          ...headers,
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return res as LightMyRequestResponse & { body: string };
    };
    return {
      tenant,
      token,
      request,
      json: async (method, path, body, headers) => {
        const res = await request(method, path, body, headers);
        return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
      },
    };
  };
  const tenant = async (name: string) => {
    const created = await createTenant(database.db, { name });
    return client(name, created.token);
  };
  return { app, database, config, scim: await tenant('acme'), tenant, client };
}

/** A minimal valid user body. */
export function userBody(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [USER_URN], userName, ...extra };
}

/** Creates a user and returns its id (fails the test on anything but 201). */
export async function createUser(scim: ScimClient, userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await scim.json('POST', '/Users', userBody(userName, extra));
  if (res.status !== 201) throw new Error(`create user ${userName}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function createGroup(scim: ScimClient, displayName: string, members: string[] = []): Promise<string> {
  const res = await scim.json('POST', '/Groups', { schemas: [GROUP_URN], displayName, members: members.map((value) => ({ value })) });
  if (res.status !== 201) throw new Error(`create group ${displayName}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
