import { ScimError } from './errors.js';
import { etagOf } from './mapping.js';

/**
 * RFC 7644 §3.14 / RFC 7232 §3.1: `If-Match` with a list of entity tags or `*`. Weak comparison,
 * since our tags are weak. Returns the version the client expects, or undefined for "any".
 */
export function expectedVersion(ifMatch: string | undefined): number[] | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '' || ifMatch.trim() === '*') return undefined;
  const versions: number[] = [];
  for (const tag of ifMatch.split(',')) {
    const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(tag);
    if (match) versions.push(Number(match[1]));
  }
  // A header naming no tag we could have issued matches nothing.
  return versions;
}

/** Throws 412 when the stored version is not one the client named. */
export function checkVersion(expected: number[] | undefined, actual: number, what: string): void {
  if (expected !== undefined && !expected.includes(actual)) {
    throw ScimError.preconditionFailed(`${what} has changed: its version is now ${etagOf(actual)}`);
  }
}
