import t from 'tap';
import { normalizePatchRequest } from '../../../src/scim/compat/patch-body.js';
import { applyPatch, parsePatchRequest } from '../../../src/scim/patch.js';
import { userResourceType } from '../../../src/scim/registry.js';
import { ScimError } from '../../../src/scim/errors.js';
import { URN } from '../../../src/scim/urn.js';

const ENT = URN.enterpriseUser;
const patch = (...Operations: unknown[]) => ({ schemas: [URN.patchOp], Operations });

t.test('values are coerced by the type at the path', async (t) => {
  const body = patch(
    { op: 'Replace', path: 'active', value: 'False' },
    { op: 'Replace', path: 'emails[type eq "work"].primary', value: 'True' },
    { op: 'Add', path: 'emails[type eq "work"]', value: { value: 'a@x', primary: 'false' } },
    { op: 'Add', path: `${ENT}:manager`, value: '271' },
    { op: 'Add', path: ENT, value: { manager: '272' } },
    { op: 'Replace', value: { 'name.givenName': ['A'], active: 'true', [`${ENT}:manager`]: '273', id: 'x', schemas: ['s'] } },
    { op: 'Replace', path: 'nope', value: 'True' },
    { op: 'Remove', path: 'members' },
  );
  const before = structuredClone(body);
  const n = normalizePatchRequest(userResourceType, body, { resourceId: 'u1' });
  t.equal(n.dialect, 'entra');
  t.strictSame(n.options, { id: 'u1', createOnUnmatchedFilter: { add: true, replace: true } });
  t.strictSame((n.body as { Operations: unknown[] }).Operations, [
    { op: 'Replace', path: 'active', value: false },
    { op: 'Replace', path: 'emails[type eq "work"].primary', value: true },
    { op: 'Add', path: 'emails[type eq "work"]', value: { value: 'a@x', primary: false } },
    { op: 'Add', path: `${ENT}:manager`, value: { value: '271' } },
    { op: 'Add', path: ENT, value: { manager: { value: '272' } } },
    { op: 'Replace', value: { 'name.givenName': 'A', active: true, [`${ENT}:manager`]: { value: '273' }, id: 'x', schemas: ['s'] } },
    { op: 'Replace', path: 'nope', value: 'True' },
    { op: 'Remove', path: 'members' },
  ], 'unknown paths are left for applyPatch to reject; ops without value untouched');
  t.strictSame(body, before, 'input body untouched');
});

t.test('rfc dialect rewrites nothing and stays strict', async (t) => {
  const body = patch({ op: 'Replace', path: 'active', value: 'False' });
  const n = normalizePatchRequest(userResourceType, body, { dialect: 'rfc' });
  t.equal(n.body, body, 'same body object');
  t.strictSame(n.options, { createOnUnmatchedFilter: { add: false, replace: false } });
  const applied = applyPatch(userResourceType, { userName: 'a' }, parsePatchRequest(n.body), n.options);
  t.equal(applied.resource.active, 'False', 'the string reaches the validator, which rejects it');
  const add = normalizePatchRequest(userResourceType, patch({ op: 'add', path: 'emails[type eq "work"].value', value: 'w@x' }), { dialect: 'rfc' });
  try {
    applyPatch(userResourceType, { userName: 'a' }, parsePatchRequest(add.body), add.options);
    t.fail('should be noTarget');
  } catch (e) {
    t.equal(e instanceof ScimError ? e.scimType : e, 'noTarget');
  }
});

t.test('generic dialect: add creates through an unmatched filter, replace is noTarget', async (t) => {
  const run = (op: string) => {
    const n = normalizePatchRequest(userResourceType, patch({ op, path: 'emails[type eq "work"].value', value: 'w@x' }), {});
    t.equal(n.dialect, 'generic');
    return applyPatch(userResourceType, { userName: 'a' }, parsePatchRequest(n.body), n.options).resource;
  };
  t.strictSame(run('add').emails, [{ type: 'work', value: 'w@x' }]);
  try {
    run('replace');
    t.fail('should be noTarget');
  } catch (e) {
    t.equal(e instanceof ScimError ? e.scimType : e, 'noTarget');
  }
});

t.test('non-PATCH-shaped bodies pass through for parsePatchRequest to reject', async (t) => {
  t.equal(normalizePatchRequest(userResourceType, 'x').body, 'x');
  const noOps = { schemas: [URN.patchOp] };
  t.equal(normalizePatchRequest(userResourceType, noOps).body, noOps);
});
