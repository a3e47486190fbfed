/**
 * Loads the Auth0 Management API OpenAPI description once and validates response bodies against the
 * response schema of (method, path template, status). The YAML is 62k lines (≈1 s to parse), so the
 * parsed document is cached as JSON in the OS temp dir, keyed by the spec file's size and mtime.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { parse } from 'yaml';
import { SPEC_FORMATS } from '../../../src/auth0/emulator/formats.js';
import { REPO_ROOT } from '../../helpers/paths.js';

/** The shared specs folder sits beside the repository checkout (`../shared/specs`). */
export const SPEC_PATH =
  process.env['AUTH0_SPEC_PATH'] ?? join(REPO_ROOT, '../shared/specs/auth0-management-api-openapi.yml');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface SpecOperation {
  readonly method: string;
  readonly path: string;
  readonly raw: JsonObject;
}

let cached: JsonObject | undefined;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parsed OpenAPI document (parsed once per process, cached across processes). */
export function loadSpec(): JsonObject {
  if (cached) return cached;
  const st = statSync(SPEC_PATH);
  const cacheDir = join(tmpdir(), 'provisio-auth0-spec-cache');
  const cacheFile = join(cacheDir, `spec-${st.size}-${Math.floor(st.mtimeMs)}.json`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(cacheFile, 'utf8'));
  } catch {
    doc = parse(readFileSync(SPEC_PATH, 'utf8'));
    mkdirSync(cacheDir, { recursive: true });
    // Write then rename would be atomic; a torn write only costs one re-parse (JSON.parse throws).
    writeFileSync(cacheFile, JSON.stringify(doc));
  }
  if (!isObject(doc)) throw new Error('spec is not an object');
  cached = doc;
  return doc;
}

/** The operation object for (method, path template) or throws. */
export function specOperation(method: string, path: string): SpecOperation {
  const paths = loadSpec()['paths'];
  if (!isObject(paths)) throw new Error('spec has no paths');
  const item = paths[path];
  if (!isObject(item)) throw new Error(`spec has no path ${path}`);
  const raw = item[method.toLowerCase()];
  if (!isObject(raw)) throw new Error(`spec has no ${method} ${path}`);
  return { method: method.toUpperCase(), path, raw };
}

const COMPONENTS_ID = 'https://auth0-management-api.spec/';
let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv2020 {
  if (ajv) return ajv;
  // OpenAPI 3.1 schemas are JSON Schema 2020-12; vendor keywords (x-*) are ignored with strict off.
  const instance = new Ajv2020({ strict: false, unicodeRegExp: false, allErrors: true, validateFormats: true, formats: SPEC_FORMATS });
  const addFormats = addFormatsImport as unknown as (a: Ajv2020) => void;
  addFormats(instance);
  instance.addSchema({ $id: COMPONENTS_ID, components: relaxUnions(loadSpec()['components'] ?? {}) });
  ajv = instance;
  return instance;
}

/**
 * The spec's `oneOf`s are Fern-generated unions without discriminators: a last checkpoint page
 * `{members:[…]}` matches both the offset and the checkpoint wrapper (neither has required keys), so a
 * body Auth0 really sends fails `oneOf`. Validate them as `anyOf` (match at least one branch).
 */
function relaxUnions(value: Json): Json {
  if (Array.isArray(value)) return value.map(relaxUnions);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k === 'oneOf' ? 'anyOf' : k] = relaxUnions(v);
    return out;
  }
  return value;
}

function rebaseRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rebaseRefs);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${COMPONENTS_ID}${v}` : rebaseRefs(v);
    }
    return out;
  }
  return value;
}

/** The JSON schema of a documented response, or undefined when the spec documents no JSON body. */
export function responseSchema(method: string, path: string, status: number): Json | undefined {
  const op = specOperation(method, path);
  const responses = op.raw['responses'];
  if (!isObject(responses)) throw new Error(`${method} ${path} has no responses`);
  const response = responses[String(status)];
  if (!isObject(response)) throw new Error(`${method} ${path} does not document status ${status}`);
  const content = response['content'];
  if (!isObject(content)) return undefined;
  const json = content['application/json'];
  if (!isObject(json)) return undefined;
  return json['schema'];
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly errors: readonly ErrorObject[];
}

/**
 * Validates `body` against the documented response schema. A status the spec does not document is an
 * error (so a test cannot pass on an undocumented code); a documented status without a JSON body requires
 * an empty body.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): ValidationResult {
  const key = `${method.toUpperCase()} ${path} ${status}`;
  let validate = validators.get(key);
  if (!validate) {
    const schema = responseSchema(method, path, status);
    if (schema === undefined) {
      const empty = body === undefined || body === null || body === '';
      return {
        valid: empty,
        errors: empty ? [] : [{ instancePath: '', schemaPath: '', keyword: 'empty', params: {}, message: 'expected no body' }],
      };
    }
    const prepared = relaxUnions(rebaseRefs(schema));
    validate = getAjv().compile(isObject(prepared) ? prepared : { const: prepared });
    validators.set(key, validate);
  }
  const valid = validate(body);
  return { valid, errors: valid ? [] : [...(validate.errors ?? [])] };
}

/** Validates an Auth0 error envelope against the shape Auth0 documents for every error status. */
export function isAuth0ErrorEnvelope(body: unknown): boolean {
  if (!isObject(body)) return false;
  return (
    typeof body['statusCode'] === 'number' &&
    typeof body['error'] === 'string' &&
    typeof body['message'] === 'string' &&
    (body['errorCode'] === undefined || typeof body['errorCode'] === 'string')
  );
}
