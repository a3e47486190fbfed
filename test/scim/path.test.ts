import t from 'tap';
import { ScimError } from '../../src/scim/errors.js';
import { parsePatchPath, parseScimFilter } from '../../src/scim/path.js';
import { groupResourceType, userResourceType } from '../../src/scim/registry.js';
import { URN } from '../../src/scim/urn.js';

const ENT = URN.enterpriseUser;

function scimType(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e.scimType;
    return `plain Error: ${(e as Error).message}`;
  }
  return 'no error';
}

t.test('simple, dotted and case-insensitive attribute paths', async (t) => {
  const p = parsePatchPath(userResourceType, 'UserName');
  t.equal(p.kind, 'attribute');
  if (p.kind === 'attribute') t.equal(p.attribute.name, 'userName');
  const q = parsePatchPath(userResourceType, 'NAME.givenname');
  if (q.kind !== 'attribute') throw new Error('kind');
  t.equal(q.attribute.name, 'name');
  t.equal(q.subAttribute?.name, 'givenName');
  t.equal(q.extension, undefined);
  t.equal(q.filter, undefined);
});

t.test('value filter paths, with and without sub-attribute', async (t) => {
  const p = parsePatchPath(userResourceType, 'emails[Type eq "work"].VALUE');
  if (p.kind !== 'attribute') throw new Error('kind');
  t.equal(p.attribute.name, 'emails');
  t.equal(p.subAttribute?.name, 'value');
  t.same(p.filter, { op: 'eq', attrPath: 'type', compValue: 'work' }, 'filter names canonicalised');
  const q = parsePatchPath(groupResourceType, 'members[value eq "a" or value eq "b"]');
  if (q.kind !== 'attribute') throw new Error('kind');
  t.equal(q.subAttribute, undefined);
  t.same(q.filter, { op: 'or', filters: [
    { op: 'eq', attrPath: 'value', compValue: 'a' }, { op: 'eq', attrPath: 'value', compValue: 'b' }] });
  const r = parsePatchPath(userResourceType, 'emails[emails.type eq "work" and primary eq true]');
  if (r.kind !== 'attribute') throw new Error('kind');
  t.same(r.filter, { op: 'and', filters: [
    { op: 'eq', attrPath: 'type', compValue: 'work' }, { op: 'eq', attrPath: 'primary', compValue: true }] });
});

t.test('brackets and dots inside string literals do not confuse the path parser', async (t) => {
  const p = parsePatchPath(userResourceType, 'emails[value eq "a]b[c.d"].display');
  if (p.kind !== 'attribute') throw new Error('kind');
  t.same(p.filter, { op: 'eq', attrPath: 'value', compValue: 'a]b[c.d' });
  t.equal(p.subAttribute?.name, 'display');
});

t.test('filter literals keep backslashes and $ref works (scim2-parse-filter bugs worked around)', async (t) => {
  t.same(parseScimFilter('value eq "a\\\\b"'), { op: 'eq', attrPath: 'value', compValue: 'a\\b' });
  t.same(parseScimFilter('value eq "say \\"hi\\""'), { op: 'eq', attrPath: 'value', compValue: 'say "hi"' });
  const p = parsePatchPath(groupResourceType, 'members[$ref eq "https://x/Users/1"]');
  if (p.kind !== 'attribute') throw new Error('kind');
  t.same(p.filter, { op: 'eq', attrPath: '$ref', compValue: 'https://x/Users/1' });
});

t.test('URN-prefixed paths', async (t) => {
  const ext = parsePatchPath(userResourceType, ENT);
  t.equal(ext.kind, 'extension');
  if (ext.kind === 'extension') t.equal(ext.schema.id, ENT);
  const mgr = parsePatchPath(userResourceType, `${ENT}:manager.value`);
  if (mgr.kind !== 'attribute') throw new Error('kind');
  t.equal(mgr.extension, ENT);
  t.equal(mgr.attribute.name, 'manager');
  t.equal(mgr.subAttribute?.name, 'value');
  const lower = parsePatchPath(userResourceType, `${ENT.toLowerCase()}:DEPARTMENT`);
  if (lower.kind !== 'attribute') throw new Error('kind');
  t.equal(lower.attribute.name, 'department');
  const core = parsePatchPath(userResourceType, `${URN.user}:name.givenName`);
  if (core.kind !== 'attribute') throw new Error('kind');
  t.equal(core.extension, undefined);
  t.equal(core.subAttribute?.name, 'givenName');
  const coreFilter = parsePatchPath(userResourceType, `${URN.user}:emails[type eq "work"].value`);
  if (coreFilter.kind !== 'attribute') throw new Error('kind');
  t.equal(coreFilter.attribute.name, 'emails');
});

t.test('invalid paths are ScimErrors with the right scimType, never plain Errors', async (t) => {
  const cases: [string, string, string][] = [
    ['User', 'nope', 'invalidPath'],
    ['User', 'name.nope', 'invalidPath'],
    ['User', 'name.givenName.more', 'invalidPath'],
    ['User', '', 'invalidPath'],
    ['User', 'urn:ietf:params:scim:schemas:extension:other:2.0:User:x', 'invalidPath'],
    ['User', URN.user, 'invalidPath'],
    ['User', `${ENT}:nope`, 'invalidPath'],
    ['User', 'emails[type eq "work"', 'invalidPath'],
    ['User', 'emails]', 'invalidPath'],
    ['User', 'emails[type eq "work"]value', 'invalidPath'],
    ['User', 'emails[type eq "work"].nope', 'invalidPath'],
    ['User', 'emails[type eq "work"].value.x', 'invalidPath'],
    ['User', 'name[givenName eq "x"]', 'invalidPath'],
    ['User', 'emails.value[type eq "x"]', 'invalidPath'],
    ['User', 'emails[type eq]', 'invalidFilter'],
    ['User', 'emails[]', 'invalidFilter'],
    ['User', 'emails[nope eq "x"]', 'invalidFilter'],
    ['User', 'emails[type eq "unterminated]', 'invalidPath'],
    ['Group', 'members[value eq "x" and (type eq ]', 'invalidFilter'],
  ];
  for (const [rt, path, expected] of cases) {
    t.equal(scimType(() => parsePatchPath(rt === 'User' ? userResourceType : groupResourceType, path)), expected, path);
  }
});
