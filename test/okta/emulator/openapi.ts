/**
 * Validates emulator answers against the Okta Management API description in ../shared/specs (OpenAPI
 * 3.0.1). Two known gaps of that description are bridged here, not in the emulator: read-only timestamps
 * such as `lastLogin` and `activated` are `null` in real answers but typed as plain strings, so read-only
 * properties also accept `null`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../helpers/paths.js';

export const OKTA_SPEC_PATH = process.env['OKTA_SPEC_PATH'] ?? join(REPO_ROOT, '../shared/specs/okta-openapi-original.yml');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let spec: JsonObject | undefined;
function loadSpec(): JsonObject {
  if (!spec) {
    const doc: unknown = parse(readFileSync(OKTA_SPEC_PATH, 'utf8'));
    if (!isObject(doc)) throw new Error('Okta spec is not an object');
    spec = doc;
  }
  return spec;
}

const COMPONENTS_ID = 'https://okta-management-api.spec/';

/** Rebases local `$ref`s onto the registered components and lets read-only properties be null. */
function prepare(value: Json): Json {
  if (Array.isArray(value)) return value.map(prepare);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${COMPONENTS_ID}${v}` : prepare(v);
  }
  if (out['readOnly'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  return out;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true });
    (addFormatsImport as unknown as (a: Ajv) => void)(ajv);
    ajv.addSchema({ $id: COMPONENTS_ID, components: prepare(loadSpec()['components'] ?? {}) });
  }
  return ajv;
}

/** The spec's path templates (`/api/v1/users/{userId}`) that match a concrete path, most specific first. */
export function templateFor(method: string, pathname: string): string | undefined {
  const paths = loadSpec()['paths'];
  if (!isObject(paths)) return undefined;
  return Object.keys(paths)
    .filter((t) => isObject(paths[t]) && isObject((paths[t] as JsonObject)[method.toLowerCase()]))
    .map((t) => ({ t, re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`), params: (t.match(/\{/g) ?? []).length }))
    .filter(({ re }) => re.test(pathname))
    .sort((a, b) => a.params - b.params)[0]?.t;
}

export interface ValidationResult {
  valid: boolean;
  errors: ErrorObject[];
}

/** Validates a 200 body against the documented JSON schema of (method, template). */
export function validateResponse(method: string, template: string, body: unknown): ValidationResult {
  const key = `${method} ${template}`;
  let validate = validators.get(key);
  if (!validate) {
    const paths = loadSpec()['paths'] as JsonObject;
    const operation = (paths[template] as JsonObject)[method.toLowerCase()] as JsonObject;
    const schema = (((((operation['responses'] as JsonObject)['200'] as JsonObject)['content'] as JsonObject)['application/json'] as JsonObject)['schema']);
    const prepared = prepare(schema ?? {});
    validate = getAjv().compile(isObject(prepared) ? prepared : {});
    validators.set(key, validate);
  }
  const valid = validate(body);
  return { valid, errors: valid ? [] : [...(validate.errors ?? [])] };
}
