/**
 * The subset of Okta's filter language the emulator evaluates (developer.okta.com/docs/api/#filter):
 * `attr op "value"` and `attr pr`, with `op` one of eq, sw, co, gt, ge, lt, le, combined with `and`
 * (binds tighter), `or` and parentheses. String comparisons ignore case, as Okta's do for logins and
 * search. `filter` accepts fewer attributes than `search`; anything else is 400 E0000031.
 */
import { invalidSearch } from './errors.js';

type Operator = 'eq' | 'sw' | 'co' | 'gt' | 'ge' | 'lt' | 'le';
type Literal = string | number | boolean;

/** A parsed expression. */
export type OktaFilter =
  | { kind: 'compare'; path: string; op: Operator; value: Literal }
  | { kind: 'present'; path: string }
  | { kind: 'and' | 'or'; left: OktaFilter; right: OktaFilter };

const OPERATORS = new Set<string>(['eq', 'sw', 'co', 'gt', 'ge', 'lt', 'le']);
const TOKEN = /\s*(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+)/y;

function tokenize(expression: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while (TOKEN.lastIndex < expression.length && (match = TOKEN.exec(expression)) !== null) {
    if (match[1] !== undefined) tokens.push(match[1]);
  }
  if (expression.slice(TOKEN.lastIndex).trim() !== '') throw invalidSearch(`Cannot parse: ${expression}`);
  return tokens;
}

function literal(token: string | undefined): Literal {
  if (token === undefined) throw invalidSearch('A value is missing');
  if (token.startsWith('"')) return token.slice(1, -1).replace(/\\(.)/g, '$1');
  if (token === 'true' || token === 'false') return token === 'true';
  const n = Number(token);
  if (Number.isFinite(n)) return n;
  throw invalidSearch(`Values must be quoted: ${token}`);
}

/** Parses `expression`; throws 400 E0000031 on anything outside the grammar. */
export function parseOktaFilter(expression: string): OktaFilter {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = (): string | undefined => tokens[at]?.toLowerCase();

  function factor(): OktaFilter {
    if (tokens[at] === '(') {
      at++;
      const inner = disjunction();
      if (tokens[at] !== ')') throw invalidSearch('Unbalanced parentheses');
      at++;
      return inner;
    }
    const path = tokens[at++];
    const op = tokens[at++]?.toLowerCase();
    if (path === undefined || op === undefined) throw invalidSearch('Incomplete expression');
    if (op === 'pr') return { kind: 'present', path };
    if (!OPERATORS.has(op)) throw invalidSearch(`Unsupported operator: ${op}`);
    return { kind: 'compare', path, op: op as Operator, value: literal(tokens[at++]) };
  }
  function conjunction(): OktaFilter {
    let left = factor();
    while (peek() === 'and') {
      at++;
      left = { kind: 'and', left, right: factor() };
    }
    return left;
  }
  function disjunction(): OktaFilter {
    let left = conjunction();
    while (peek() === 'or') {
      at++;
      left = { kind: 'or', left, right: conjunction() };
    }
    return left;
  }

  if (tokens.length === 0) throw invalidSearch('Empty expression');
  const tree = disjunction();
  if (at !== tokens.length) throw invalidSearch(`Unexpected token: ${tokens[at] ?? ''}`);
  return tree;
}

/** Every attribute path an expression mentions. */
export function filterPaths(filter: OktaFilter): string[] {
  return 'left' in filter ? [...filterPaths(filter.left), ...filterPaths(filter.right)] : [filter.path];
}

/** Parses and checks that only `allowed` attributes appear (the `filter` parameter's restriction). */
export function parseRestrictedFilter(expression: string, allowed: readonly string[]): OktaFilter {
  const tree = parseOktaFilter(expression);
  const outside = filterPaths(tree).find((p) => !allowed.includes(p));
  if (outside !== undefined) throw invalidSearch(`Filtering on ${outside} is not supported; use search`);
  return tree;
}

function compare(actual: unknown, op: Operator, expected: Literal): boolean {
  if (actual === undefined || actual === null) return false;
  if (Array.isArray(actual)) return actual.some((item) => compare(item, op, expected));
  const a = typeof actual === 'string' ? actual.toLowerCase() : actual;
  const e = typeof expected === 'string' ? expected.toLowerCase() : expected;
  switch (op) {
    case 'eq': return a === e;
    case 'sw': return typeof a === 'string' && typeof e === 'string' && a.startsWith(e);
    case 'co': return typeof a === 'string' && typeof e === 'string' && a.includes(e);
    case 'gt': return typeof a === typeof e && (a as Literal) > e;
    case 'ge': return typeof a === typeof e && (a as Literal) >= e;
    case 'lt': return typeof a === typeof e && (a as Literal) < e;
    case 'le': return typeof a === typeof e && (a as Literal) <= e;
  }
}

/** Evaluates `filter` against a resource, reading attributes through `valueOf(path)`. */
export function matchesFilter(filter: OktaFilter, valueOf: (path: string) => unknown): boolean {
  switch (filter.kind) {
    case 'and': return matchesFilter(filter.left, valueOf) && matchesFilter(filter.right, valueOf);
    case 'or': return matchesFilter(filter.left, valueOf) || matchesFilter(filter.right, valueOf);
    case 'present': {
      const v = valueOf(filter.path);
      return v !== undefined && v !== null && v !== '';
    }
    case 'compare': return compare(valueOf(filter.path), filter.op, filter.value);
  }
}

/** Reads `a.b.c` from a JSON object (`profile.login`, `status`). */
export function readPath(resource: Record<string, unknown>, path: string): unknown {
  let current: unknown = resource;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
