/**
 * RFC 7644 §3.7 Bulk: parse a BulkRequest, order its operations so that every `bulkId:` reference points
 * at a POST that already ran, run each through the Users/Groups services and build the BulkResponse.
 *
 * Each operation is atomic on its own (its service call is one transaction, and notifies the Auth0 sync
 * inside it exactly as the single endpoint does); the request as a whole is not: RFC 7644 §3.7 leaves
 * that to the server, and an operation that fails leaves the ones before it applied. A client that
 * retries a partly applied bulk sees 409 `uniqueness` for the POSTs that already went through.
 */
import type { BulkLimits } from '../config.js';
import type { ScimScope } from '../admin/tokens.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { requireScope, type ScimPrincipal } from './auth.js';
import type { Rendered, ScimContext } from './context.js';
import { errorBody } from './error-response.js';
import { ScimError, type ScimErrorBody } from './errors.js';
import * as groups from './groups.js';
import type { RequestDialect } from './patching.js';
import type { Projection } from './query.js';
import type { ScimResourceTypeName } from './schemas/types.js';
import { URN } from './urn.js';
import * as users from './users.js';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
const BULK_ID = 'bulkId:';

/** One entry of `Operations`: what the client sent, and either its checked shape or why it is refused. */
interface BulkOperation {
  readonly method?: string;
  readonly bulkId?: string;
  readonly version?: string;
  /** The operation's own 400 (bad method, path or data); it is reported in its turn, not run. */
  readonly invalid?: ScimError;
  readonly type?: ScimResourceTypeName;
  /** The target of PUT/PATCH/DELETE: an id, or `bulkId:<id>` until resolved. */
  readonly target?: string;
  readonly data?: unknown;
  /** The bulkIds referenced in `path` and `data`. */
  readonly refs: ReadonlySet<string>;
}

/** A BulkRequest whose envelope is valid; single operations may still be invalid. */
export interface BulkRequest {
  readonly failOnErrors?: number;
  readonly operations: readonly BulkOperation[];
}

/** One entry of the BulkResponse's `Operations` (RFC 7644 §3.7.3); `status` is a string as in the RFC's examples. */
export interface BulkOperationResult {
  method?: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimErrorBody;
}

export interface BulkResponse {
  schemas: [string];
  Operations: BulkOperationResult[];
}

/** What running a bulk needs besides the service context. */
export interface BulkRun {
  readonly principal: ScimPrincipal;
  readonly dialect: RequestDialect;
  /** Told about an operation's unexpected error (a 500 in its result) before the run goes on. */
  readonly onUnexpected: (err: unknown) => void;
}

const ENDPOINTS: Record<ScimResourceTypeName, { endpoint: string; write: ScimScope }> = {
  User: { endpoint: '/Users', write: 'users:write' },
  Group: { endpoint: '/Groups', write: 'groups:write' },
};

/** Only `id` is rendered: a bulk result carries location and version, not the resource (RFC 7644 §3.7.3 allows it). */
const ID_ONLY: Projection = { attributes: ['id'] };

/** RFC 7643 §2.1: attribute names, the message's own included, are case-insensitive. */
function field(obj: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(obj)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the envelope, the operation count and bulkId uniqueness (whole-request errors), and each
 * operation's shape (that operation's own 400). Pure: runs before any SQL.
 */
export function parseBulkRequest(body: unknown, limits: BulkLimits): BulkRequest {
  if (!isObject(body)) throw ScimError.invalidSyntax('A BulkRequest body must be a JSON object');
  const schemas = field(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.bulkRequest.toLowerCase())) {
    throw ScimError.invalidSyntax(`A BulkRequest must list the schema ${URN.bulkRequest}`);
  }
  const operations = field(body, 'Operations');
  if (!Array.isArray(operations)) throw ScimError.invalidSyntax('A BulkRequest needs an "Operations" array');
  if (operations.length > limits.maxOperations) {
    throw new ScimError(413, `The BulkRequest has ${operations.length} operations; the maximum is ${limits.maxOperations} (SCIM_BULK_MAX_OPERATIONS)`, 'tooMany');
  }
  const failOnErrors = field(body, 'failOnErrors');
  if (failOnErrors !== undefined && failOnErrors !== null && !(Number.isInteger(failOnErrors) && (failOnErrors as number) >= 1)) {
    throw ScimError.invalidSyntax('"failOnErrors" must be an integer of at least 1');
  }
  const parsed = operations.map(parseOperation);
  const seen = new Set<string>();
  for (const op of parsed) {
    if (op.bulkId === undefined) continue;
    if (seen.has(op.bulkId)) throw ScimError.invalidValue(`The bulkId "${op.bulkId}" is used by more than one operation`);
    seen.add(op.bulkId);
  }
  return { ...(typeof failOnErrors === 'number' ? { failOnErrors } : {}), operations: parsed };
}

function parseOperation(raw: unknown): BulkOperation {
  const refs = new Set<string>();
  if (!isObject(raw)) return { refs, invalid: ScimError.invalidSyntax('Each operation must be a JSON object') };
  const rawMethod = field(raw, 'method');
  const bulkId = field(raw, 'bulkId');
  const version = field(raw, 'version');
  const echo = {
    ...(typeof rawMethod === 'string' ? { method: rawMethod.toUpperCase() } : {}),
    ...(typeof bulkId === 'string' ? { bulkId } : {}),
    ...(typeof version === 'string' ? { version } : {}),
  };
  const refuse = (err: ScimError): BulkOperation => ({ ...echo, refs, invalid: err });
  const method = echo.method;
  if (method === undefined || !METHODS.includes(method)) return refuse(ScimError.invalidSyntax(`"method" must be one of ${METHODS.join(', ')}`));
  if (bulkId !== undefined && (typeof bulkId !== 'string' || bulkId === '')) return refuse(ScimError.invalidSyntax('"bulkId" must be a non-empty string'));
  if (version !== undefined && typeof version !== 'string') return refuse(ScimError.invalidSyntax('"version" must be a string (an entity tag)'));
  // RFC 7644 §3.7: bulkId is REQUIRED with POST; without it the new resource could not be named.
  if (method === 'POST' && bulkId === undefined) return refuse(ScimError.invalidSyntax('A POST operation needs a "bulkId"'));

  const path = field(raw, 'path');
  const match = typeof path === 'string' ? /^\/(users|groups)(?:\/([^/?#]+))?\/?$/i.exec(path) : null;
  if (!match) return refuse(ScimError.invalidPath('"path" must be /Users or /Groups for POST, /Users/{id} or /Groups/{id} otherwise'));
  const type: ScimResourceTypeName = match[1]!.toLowerCase() === 'users' ? 'User' : 'Group';
  const target = match[2];
  if ((method === 'POST') !== (target === undefined)) {
    return refuse(ScimError.invalidPath(method === 'POST' ? 'A POST path names the endpoint only (/Users or /Groups)' : `A ${method} path names one resource (/Users/{id} or /Groups/{id})`));
  }
  if (target?.startsWith(BULK_ID)) refs.add(target.slice(BULK_ID.length));

  const data = field(raw, 'data');
  if (method !== 'DELETE' && !isObject(data)) return refuse(ScimError.invalidSyntax(`A ${method} operation needs "data": the request body, a JSON object`));
  collectRefs(data, refs);
  return { ...echo, method, type, ...(target !== undefined ? { target } : {}), data, refs };
}

/** RFC 7644 §3.7.2: any string value `bulkId:<id>` in `data` refers to the resource that POST created. */
function collectRefs(value: unknown, refs: Set<string>): void {
  if (typeof value === 'string') {
    if (value.startsWith(BULK_ID)) refs.add(value.slice(BULK_ID.length));
  } else if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, refs);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) collectRefs(item, refs);
  }
}

function substitute(value: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return value.startsWith(BULK_ID) ? ids.get(value.slice(BULK_ID.length)) ?? value : value;
  if (Array.isArray(value)) return value.map((item) => substitute(item, ids));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  return value;
}

/** The run order, and for each operation on a reference cycle the cycle as bulkIds (`a → b → a`). */
export interface BulkPlan {
  readonly order: readonly number[];
  readonly cycles: ReadonlyMap<number, readonly string[]>;
}

/**
 * Orders operations so each POST runs before the operations that reference its bulkId: a depth-first
 * walk from each operation in request order, dependencies first (Tarjan's strongly connected components,
 * iterative so a long chain of nested groups cannot overflow the stack). Unrelated operations keep their
 * request order. RFC 7644 §3.7.1 lets the server answer 409 instead of breaking a cycle: operations on one
 * are reported with the cycle, never run.
 */
export function planBulk(operations: readonly BulkOperation[]): BulkPlan {
  const definedBy = new Map<string, number>();
  operations.forEach((op, i) => op.method === 'POST' && op.bulkId !== undefined && definedBy.set(op.bulkId, i));
  const edges = operations.map((op) => [...new Set([...op.refs].map((ref) => definedBy.get(ref)).filter((j): j is number => j !== undefined))]);

  const index = new Array<number>(operations.length).fill(-1);
  const low = new Array<number>(operations.length).fill(0);
  const onStack = new Array<boolean>(operations.length).fill(false);
  const stack: number[] = [];
  const order: number[] = [];
  const cycles = new Map<number, readonly string[]>();
  let counter = 0;
  const visit = (v: number, work: [number, number][]) => {
    index[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    work.push([v, 0]);
  };
  for (let root = 0; root < operations.length; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [];
    visit(root, work);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const v = frame[0];
      const w = edges[v]![frame[1]++];
      if (w !== undefined) {
        if (index[w] === -1) visit(w, work);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] !== index[v]) continue;
      const component: number[] = [];
      let u: number;
      do {
        u = stack.pop()!;
        onStack[u] = false;
        component.push(u);
      } while (u !== v);
      component.sort((a, b) => a - b);
      order.push(...component);
      if (component.length > 1 || edges[v]!.includes(v)) {
        const members = new Set(component);
        for (const op of component) cycles.set(op, cyclePath(op, edges, members).map((i) => operations[i]!.bulkId!));
      }
    }
  }
  return { order, cycles };
}

/** The shortest path from `start` back to itself inside its component (breadth-first). */
function cyclePath(start: number, edges: readonly number[][], members: ReadonlySet<number>): number[] {
  const previous = new Map<number, number>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of edges[v]!) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** Runs the operations in plan order, stopping after `failOnErrors` failures (RFC 7644 §3.7.3). */
export async function runBulk(ctx: ScimContext, request: BulkRequest, run: BulkRun): Promise<BulkResponse> {
  const { order, cycles } = planBulk(request.operations);
  const results = new Map<number, BulkOperationResult>();
  /** bulkId → the id its POST created. */
  const created = new Map<string, string>();
  /** bulkId → the status its POST failed with. */
  const failed = new Map<string, string>();
  let errors = 0;

  for (const i of order) {
    const op = request.operations[i]!;
    const echo = { ...(op.method ? { method: op.method } : {}), ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}) };
    let stop = false;
    try {
      const { id, ...outcome } = await perform(ctx, op, cycles.get(i), { created, failed }, run);
      results.set(i, { ...echo, ...outcome });
      if (op.method === 'POST' && op.bulkId !== undefined && id !== undefined) created.set(op.bulkId, id);
    } catch (err) {
      let error: ScimError;
      if (err instanceof ScimError) {
        error = err;
      } else if (isDatabaseUnavailable(err)) {
        // Every later operation would wait for the connect timeout too: end the bulk here.
        run.onUnexpected(err);
        error = new ScimError(503, 'The directory database is not available right now; this and the later operations were not applied');
        stop = true;
      } else {
        run.onUnexpected(err);
        error = new ScimError(500, 'Internal server error; this operation was not applied');
      }
      const location = op.type && op.target && !op.target.startsWith(BULK_ID) ? `${ctx.baseUrl}${ENDPOINTS[op.type].endpoint}/${op.target}` : undefined;
      results.set(i, { ...echo, ...(location ? { location } : {}), status: String(error.status), response: errorBody(error) });
      if (op.method === 'POST' && op.bulkId !== undefined) failed.set(op.bulkId, String(error.status));
      errors++;
    }
    if (stop || (request.failOnErrors !== undefined && errors >= request.failOnErrors)) break;
  }
  // Request order, so a client can match results to its operations; those never attempted are left out.
  const Operations = [...results.entries()].sort(([a], [b]) => a - b).map(([, result]) => result);
  return { schemas: [URN.bulkResponse], Operations };
}

/** What the POSTs run so far left for references to resolve against. */
interface Resolution {
  readonly created: ReadonlyMap<string, string>;
  readonly failed: ReadonlyMap<string, string>;
}

type Outcome = Omit<BulkOperationResult, 'method' | 'bulkId'> & { id?: string };

async function perform(ctx: ScimContext, op: BulkOperation, cycle: readonly string[] | undefined, resolution: Resolution, run: BulkRun): Promise<Outcome> {
  if (op.invalid) throw op.invalid;
  const type = op.type!;
  const { endpoint, write } = ENDPOINTS[type];
  requireScope(run.principal, write);
  if (cycle) throw ScimError.conflict(`Circular bulkId references: ${cycle.join(' → ')}; this server does not break cycles (RFC 7644 §3.7.1), send them as separate operations`);
  // planBulk ran every POST this operation references before it, so a bulkId in neither map is one no POST defines.
  const ids = new Map<string, string>();
  for (const ref of op.refs) {
    const id = resolution.created.get(ref);
    if (id !== undefined) ids.set(ref, id);
    else if (resolution.failed.has(ref)) throw ScimError.conflict(`bulkId "${ref}" cannot be resolved: its POST failed with status ${resolution.failed.get(ref)}`);
    else throw ScimError.conflict(`bulkId "${ref}" cannot be resolved: no POST operation of this request has that bulkId`);
  }
  const data = substitute(op.data, ids);
  const id = op.target === undefined ? undefined : (substitute(op.target, ids) as string);
  const located = (rendered: Rendered, status: number): Outcome => {
    const resourceId = String(rendered.resource.id);
    return { id: resourceId, location: `${ctx.baseUrl}${endpoint}/${resourceId}`, version: rendered.etag, status: String(status) };
  };
  const { dialect } = run;
  switch (op.method as Method) {
    case 'POST':
      return located(await (type === 'User' ? users.createUser : groups.createGroup)(ctx, data, ID_ONLY, dialect), 201);
    case 'PUT':
      return located(await (type === 'User' ? users.replaceUser : groups.replaceGroup)(ctx, id!, data, ID_ONLY, op.version, dialect), 200);
    case 'PATCH': {
      // A projection makes the Groups service render the group, so its new version can be reported.
      const rendered = type === 'User'
        ? await users.patchUser(ctx, id!, data, ID_ONLY, op.version, dialect)
        : await groups.patchGroup(ctx, id!, data, ID_ONLY, op.version, dialect);
      return located(rendered!, 200);
    }
    case 'DELETE':
      await (type === 'User' ? users.deleteUser : groups.deleteGroup)(ctx, id!, op.version);
      return { location: `${ctx.baseUrl}${endpoint}/${id}`, status: '204' };
  }
}
