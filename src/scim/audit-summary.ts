import { cut } from '../http/text-hygiene.js';
import { URN } from './urn.js';

/**
 * The redacted one-line summary of a SCIM write body kept in the request audit trail: which attributes
 * were sent, the few values that identify the resource (`userName`, `externalId`, `active`,
 * `displayName`) and counts (members, operations), never other values, and never the value of an
 * attribute whose name speaks of a password, secret or token. Reads the top level of the body only
 * (no copy, no walk of nested values), so a 10,000-member PATCH costs what a one-member one does.
 */

/** At most this many characters are stored. */
export const SUMMARY_MAX = 500;
/** An identifying value is cut to this many characters. */
const VALUE_MAX = 100;
const SECRET_NAME = /password|secret|token/i;
/** The values shown, by lower-case attribute name, in the order shown. */
const SHOWN: Record<'User' | 'Group', readonly string[]> = {
  User: ['username', 'externalid', 'active'],
  Group: ['displayname', 'externalid'],
};
const SKIPPED = new Set(['schemas', 'id', 'meta']);
const ENTERPRISE = URN.enterpriseUser.toLowerCase();

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


function shown(value: unknown): string {
  if (typeof value === 'string') return cut(value, VALUE_MAX);
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

/** An attribute name as listed: the enterprise extension as `enterprise`, other URNs by their last part. */
function attributeName(key: string): string {
  const lower = key.toLowerCase();
  if (lower === ENTERPRISE) return 'enterprise';
  if (lower.startsWith(`${ENTERPRISE}:`)) return `enterprise:${cut(key.slice(ENTERPRISE.length + 1), VALUE_MAX)}`;
  return cut(lower.startsWith('urn:') ? key.slice(key.lastIndexOf(':') + 1) || key : key, VALUE_MAX);
}

/** `userName=alice@example.com externalId=42 active=true attrs=name,emails,enterprise` for a User (POST, PUT). */
function resourceSummary(type: 'User' | 'Group', body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const byLower = new Map<string, string>();
  const attrs: string[] = [];
  for (const key of Object.keys(body)) {
    const lower = key.toLowerCase();
    if (SKIPPED.has(lower)) continue;
    if (SHOWN[type].includes(lower) && !SECRET_NAME.test(key)) byLower.set(lower, key);
    else if (type === 'Group' && lower === 'members') continue;
    else attrs.push(attributeName(key));
  }
  const parts = SHOWN[type].flatMap((lower) => {
    const key = byLower.get(lower);
    return key === undefined ? [] : [`${key}=${shown(body[key])}`];
  });
  if (type === 'Group') {
    const members = Object.keys(body).find((k) => k.toLowerCase() === 'members');
    if (members !== undefined) parts.push(`members=${Array.isArray(body[members]) ? body[members].length : shown(body[members])}`);
  }
  if (attrs.length > 0) parts.push(`attrs=${attrs.join(',')}`);
  return parts.join(' ');
}

/** `ops: add members(2); replace active; replace (displayName,externalId)` (RFC 7644 §3.5.2): names and counts, no values. */
function patchSummary(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations)) return undefined;
  const described: string[] = [];
  let length = 5;
  for (const [i, op] of operations.entries()) {
    if (length > SUMMARY_MAX) {
      described.push(`… ${operations.length - i} more`);
      break;
    }
    const text = isObject(op) ? operationSummary(op) : 'invalid';
    described.push(text);
    length += text.length + 2;
  }
  return `ops: ${described.join('; ')}`;
}

function operationSummary(op: Json): string {
  const name = typeof op.op === 'string' ? cut(op.op, 16) : 'op?';
  const path = typeof op.path === 'string' ? ` ${attributeName(op.path)}` : '';
  const { value } = op;
  if (Array.isArray(value)) return `${name}${path}(${value.length})`;
  if (path === '' && isObject(value)) return `${name} (${Object.keys(value).map(attributeName).join(',')})`;
  return `${name}${path}`;
}

/** `operations=3: POST Users×2, DELETE Users×1` (RFC 7644 §3.7). */
function bulkSummary(body: unknown): string | undefined {
  if (!isObject(body) || !Array.isArray(body.Operations)) return undefined;
  const counts = new Map<string, number>();
  for (const op of body.Operations) {
    if (!isObject(op)) continue;
    const method = typeof op.method === 'string' ? cut(op.method.toUpperCase(), 8) : '?';
    const endpoint = typeof op.path === 'string' ? cut(op.path.split('/')[1] ?? '', 16) : '?';
    const key = `${method} ${endpoint}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const detail = [...counts].map(([key, n]) => `${key}×${n}`).join(', ');
  return `operations=${body.Operations.length}${detail ? `: ${detail}` : ''}`;
}

/**
 * The summary of a write (`POST`/`PUT`/`PATCH` of Users and Groups, `POST /Bulk`); undefined for
 * anything else or a body that is no object, cut to SUMMARY_MAX characters.
 */
export function summarizeWrite(resourceType: string | null, method: string, body: unknown): string | undefined {
  let summary: string | undefined;
  if (resourceType === 'Bulk') summary = method === 'POST' ? bulkSummary(body) : undefined;
  else if (resourceType !== 'User' && resourceType !== 'Group') return undefined;
  else if (method === 'PATCH') summary = patchSummary(body);
  else if (method === 'POST' || method === 'PUT') summary = resourceSummary(resourceType, body);
  return summary === undefined || summary === '' ? undefined : cut(summary, SUMMARY_MAX);
}
