import { readFileSync } from 'node:fs';
import t from 'tap';
import { ScimError } from '../../src/scim/errors.js';
import { applyPatch, parsePatchRequest, type ApplyPatchOptions } from '../../src/scim/patch.js';
import { applyMemberOpsToSet, type MemberOp } from '../../src/scim/patch-members.js';
import { groupResourceType, userResourceType } from '../../src/scim/registry.js';
import type { ScimResource } from '../../src/scim/schemas/types.js';
import { URN } from '../../src/scim/urn.js';

interface PatchCase {
  name: string;
  base: string;
  members?: string[];
  options?: ApplyPatchOptions;
  ops: unknown[];
  expect: {
    error?: string;
    /** Where the error surfaces: 'apply' (default) or 'members' (when the service applies the MemberOps). */
    at?: 'apply' | 'members';
    changed?: ScimResource;
    removed?: string[];
    unchanged?: boolean;
    memberOps?: MemberOp[];
    members?: string[];
  };
}

const table = JSON.parse(readFileSync(new URL('./patch.cases.json', import.meta.url), 'utf8')) as {
  bases: Record<string, ScimResource>;
  cases: PatchCase[];
};

function errorType(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e.scimType ?? `status ${e.status}`;
    return `plain ${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

for (const c of table.cases) {
  t.test(c.name, async (t) => {
    const base = table.bases[c.base];
    if (!base) throw new Error(`unknown base ${c.base}`);
    const rt = c.base === 'group' ? groupResourceType : userResourceType; // every other base is a User
    const input = structuredClone(base);
    const body = { schemas: [URN.patchOp], Operations: c.ops };
    const run = () => applyPatch(rt, input, parsePatchRequest(body), c.options);

    if (c.expect.error && c.expect.at !== 'members') {
      t.equal(errorType(run), c.expect.error, 'error scimType');
      t.strictSame(input, base, 'input resource is untouched');
      return;
    }
    const result = run();
    t.strictSame(input, base, 'input resource is untouched');
    t.not(result.resource, input, 'a new object is returned');
    const expected: ScimResource = { ...structuredClone(base), ...(c.expect.changed ?? {}) };
    for (const k of c.expect.removed ?? []) delete expected[k];
    t.strictSame(result.resource, expected, 'resulting resource JSON');
    t.notOk('members' in result.resource, 'members never enter the stored JSON');
    if (c.expect.memberOps) t.strictSame(result.memberOps, c.expect.memberOps, 'member operations');
    if (rt === userResourceType) t.strictSame(result.memberOps, [], 'users produce no member operations');
    if (c.expect.error) {
      t.equal(errorType(() => applyMemberOpsToSet(c.members ?? [], result.memberOps)), c.expect.error, 'error when applied');
    } else if (c.expect.members) {
      const after = [...applyMemberOpsToSet(c.members ?? [], result.memberOps)].sort();
      t.strictSame(after, [...c.expect.members].sort(), 'membership after the service applies the operations');
    }
  });
}

t.test('parsePatchRequest validates the envelope', async (t) => {
  const ok = { schemas: [URN.patchOp], Operations: [{ op: 'Add', path: 'nickName', value: 'B' }] };
  t.strictSame(parsePatchRequest(ok), [{ op: 'add', path: 'nickName', value: 'B' }]);
  t.strictSame(parsePatchRequest({ SCHEMAS: [URN.patchOp.toUpperCase()], operations: [{ OP: 'REMOVE', Path: 'x' }] }),
    [{ op: 'remove', path: 'x' }], 'message attribute names are case-insensitive');
  t.strictSame(parsePatchRequest({ schemas: [URN.patchOp], Operations: [{ op: 'replace', path: '', value: { a: 1 } }] }),
    [{ op: 'replace', value: { a: 1 } }], 'an empty path is a pathless operation');
  t.strictSame(parsePatchRequest({ schemas: [URN.patchOp], Operations: [{ op: 'replace', path: 'a', value: null }] }),
    [{ op: 'replace', path: 'a', value: null }], 'replace with null is kept (unassign)');
  const bad: [unknown, string][] = [
    [null, 'invalidSyntax'],
    [[], 'invalidSyntax'],
    [{ Operations: [{ op: 'add', value: {} }] }, 'invalidSyntax'],
    [{ schemas: [URN.user], Operations: [{ op: 'add', value: {} }] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: [] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: {} }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: ['add'] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: [{ op: 'move', path: 'a' }] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: [{ path: 'a' }] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: [{ op: 'add', path: 5, value: 1 }] }, 'invalidSyntax'],
    [{ schemas: [URN.patchOp], Operations: [{ op: 'add', path: 'a' }] }, 'invalidValue'],
    [{ schemas: [URN.patchOp], Operations: [{ op: 'add', path: 'a', value: null }] }, 'invalidValue'],
    [{ schemas: [URN.patchOp], Operations: [{ op: 'replace', path: 'a' }] }, 'invalidValue'],
  ];
  for (const [body, want] of bad) t.equal(errorType(() => parsePatchRequest(body)), want, JSON.stringify(body));
});

t.test('errors name the failing operation', async (t) => {
  const ops = parsePatchRequest({ schemas: [URN.patchOp], Operations: [
    { op: 'replace', path: 'displayName', value: 'x' }, { op: 'replace', path: 'nope', value: 1 }] });
  try {
    applyPatch(userResourceType, { userName: 'a' }, ops);
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof ScimError);
    t.match((e as Error).message, /^Operations\[1\] \(replace nope\): Unknown attribute/);
  }
});
