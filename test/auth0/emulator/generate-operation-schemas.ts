/**
 * Extracts, from the Auth0 Management API OpenAPI description, the request schemas (path params, query
 * params, JSON body) and granted scopes of every operation the emulator serves, and writes them to
 * `src/auth0/emulator/operation-schemas.ts`. The emulator cannot read the spec at runtime (it lives outside
 * the package and needs the `yaml` dev dependency), so the extract is committed and
 * `operation-schemas.test.ts` fails when it drifts from the spec.
 *
 *   npx tsx test/auth0/emulator/generate-operation-schemas.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../../helpers/paths.js';
import { loadSpec, specOperation, type Json, type JsonObject } from './openapi.js';

/** Every Management API operation the emulator implements, as `METHOD /path-template`. */
export const OPERATION_KEYS = [
  'GET /users',
  'POST /users',
  'GET /users-by-email',
  'GET /users/{id}',
  'PATCH /users/{id}',
  'DELETE /users/{id}',
  'POST /users/{id}/identities',
  'DELETE /users/{id}/identities/{provider}/{user_id}',
  'GET /users/{id}/roles',
  'POST /users/{id}/roles',
  'DELETE /users/{id}/roles',
  'GET /users/{id}/organizations',
  'DELETE /users/{user_id}/sessions',
  'DELETE /users/{user_id}/refresh-tokens',
  'POST /users/{id}/revoke-access',
  'GET /organizations',
  'POST /organizations',
  'GET /organizations/name/{name}',
  'GET /organizations/{id}',
  'PATCH /organizations/{id}',
  'DELETE /organizations/{id}',
  'GET /organizations/{id}/enabled_connections',
  'POST /organizations/{id}/enabled_connections',
  'GET /organizations/{id}/enabled_connections/{connectionId}',
  'PATCH /organizations/{id}/enabled_connections/{connectionId}',
  'DELETE /organizations/{id}/enabled_connections/{connectionId}',
  'GET /organizations/{id}/members',
  'POST /organizations/{id}/members',
  'DELETE /organizations/{id}/members',
  'GET /organizations/{id}/members/{user_id}/roles',
  'POST /organizations/{id}/members/{user_id}/roles',
  'DELETE /organizations/{id}/members/{user_id}/roles',
  'GET /organizations/{id}/invitations',
  'POST /organizations/{id}/invitations',
  'GET /organizations/{id}/invitations/{invitation_id}',
  'DELETE /organizations/{id}/invitations/{invitation_id}',
  'GET /roles',
  'POST /roles',
  'GET /roles/{id}',
  'PATCH /roles/{id}',
  'DELETE /roles/{id}',
  'GET /roles/{id}/users',
  'POST /roles/{id}/users',
  'GET /roles/{id}/permissions',
  'POST /roles/{id}/permissions',
  'DELETE /roles/{id}/permissions',
  'GET /resource-servers',
  'POST /resource-servers',
  'GET /resource-servers/{id}',
  'GET /connections',
  'GET /connections/{id}',
  'POST /connections/{id}/scim-configuration',
  'GET /connections/{id}/scim-configuration',
  'DELETE /connections/{id}/scim-configuration',
  'GET /connections/{id}/scim-configuration/tokens',
  'POST /connections/{id}/scim-configuration/tokens',
  'POST /tickets/password-change',
  'GET /actions/actions',
  'POST /actions/actions',
  'GET /actions/actions/{id}',
  'PATCH /actions/actions/{id}',
  'DELETE /actions/actions/{id}',
  'POST /actions/actions/{id}/deploy',
  'GET /actions/triggers/{triggerId}/bindings',
  'PATCH /actions/triggers/{triggerId}/bindings',
] as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function componentSchema(ref: string): Json {
  const name = ref.replace('#/components/schemas/', '');
  const components = loadSpec()['components'];
  const schemas = isObject(components) ? components['schemas'] : undefined;
  const schema = isObject(schemas) ? schemas[name] : undefined;
  if (schema === undefined) throw new Error(`unresolved ${ref}`);
  return schema;
}

/**
 * Inlines `$ref`s and drops documentation-only keys. `default` is dropped too: the spec's defaults are
 * example values ("john.doe@gmail.com"), and Auth0 does not fill them into requests.
 */
function inline(value: Json, stack: readonly string[] = []): Json {
  if (Array.isArray(value)) return value.map((v) => inline(v, stack));
  if (!isObject(value)) return value;
  const ref = value['$ref'];
  if (typeof ref === 'string') {
    if (stack.includes(ref)) throw new Error(`recursive schema ${ref}`);
    return inline(componentSchema(ref), [...stack, ref]);
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'description' || k === 'default' || k === 'example' || k === 'examples' || k.startsWith('x-')) continue;
    // Property maps hold user-chosen names, not keywords: keep every key, inline each value.
    if (k === 'properties' && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, inline(s, stack)]));
      continue;
    }
    out[k] = inline(v, stack);
  }
  return out;
}

function paramsSchema(raw: JsonObject, where: 'path' | 'query'): JsonObject | undefined {
  const params = raw['parameters'];
  if (!Array.isArray(params)) return undefined;
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const p of params) {
    if (!isObject(p) || p['in'] !== where || typeof p['name'] !== 'string') continue;
    properties[p['name']] = inline(p['schema'] ?? {});
    if (p['required'] === true) required.push(p['name']);
  }
  if (Object.keys(properties).length === 0) return undefined;
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

function scopesOf(raw: JsonObject): string[] {
  const security = raw['security'];
  if (!Array.isArray(security)) return [];
  const scopes: string[] = [];
  for (const entry of security) {
    if (!isObject(entry)) continue;
    const list = entry['oAuth2ClientCredentials'];
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') scopes.push(s);
  }
  return scopes;
}

/** The extract for every operation in `OPERATION_KEYS`, in that order. */
export function buildOperationSchemas(): Record<string, JsonObject> {
  const result: Record<string, JsonObject> = {};
  for (const key of OPERATION_KEYS) {
    const [method, path] = key.split(' ') as [string, string];
    const { raw } = specOperation(method, path);
    const entry: JsonObject = { operationId: String(raw['operationId']), scopes: scopesOf(raw) };
    const params = paramsSchema(raw, 'path');
    if (params) entry['params'] = params;
    const query = paramsSchema(raw, 'query');
    if (query) entry['querystring'] = query;
    const body = raw['requestBody'];
    const content = isObject(body) ? body['content'] : undefined;
    const json = isObject(content) ? content['application/json'] : undefined;
    if (isObject(json) && json['schema'] !== undefined) entry['body'] = inline(json['schema']);
    if (isObject(body) && body['required'] === true) entry['bodyRequired'] = true;
    result[key] = entry;
  }
  return result;
}

/** The TypeScript source of `src/auth0/emulator/operation-schemas.ts`. */
export function renderOperationSchemas(): string {
  const schemas = buildOperationSchemas();
  return [
    '// GENERATED by test/auth0/emulator/generate-operation-schemas.ts from the Auth0 Management API OpenAPI',
    '// description (shared/specs/auth0-management-api-openapi.yml). Do not edit; regenerate.',
    '',
    '/** Request schemas and scopes of one Management API operation, as the spec states them. */',
    'export interface OperationSpec {',
    '  readonly operationId: string;',
    '  /** Any one of these scopes grants access (spec `security` → `oAuth2ClientCredentials`). */',
    '  readonly scopes: readonly string[];',
    '  readonly params?: Readonly<Record<string, unknown>>;',
    '  readonly querystring?: Readonly<Record<string, unknown>>;',
    '  readonly body?: Readonly<Record<string, unknown>>;',
    '  readonly bodyRequired?: boolean;',
    '}',
    '',
    `export type OperationKey =\n${OPERATION_KEYS.map((k) => `  | '${k}'`).join('\n')};`,
    '',
    `export const OPERATIONS: Readonly<Record<OperationKey, OperationSpec>> = ${JSON.stringify(schemas, null, 2)};`,
    '',
  ].join('\n');
}

const target = join(REPO_ROOT, 'src/auth0/emulator/operation-schemas.ts');
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(target, renderOperationSchemas());
  console.log(`wrote ${target}`);
}
