import t from 'tap';
import { coerceAttributeValue, coerceResourceBody } from '../../../src/scim/compat/coerce.js';
import { parseEntraRoleString } from '../../../src/scim/compat/entra.js';
import { findAttributeByName, groupResourceType, userResourceType } from '../../../src/scim/registry.js';
import { URN } from '../../../src/scim/urn.js';

const ENT = URN.enterpriseUser;
const userAttr = (name: string) => findAttributeByName(userResourceType.schema.attributes, name)!;

t.test('coerceResourceBody: boolean strings where the schema says boolean, anywhere', async (t) => {
  const body = {
    schemas: [URN.user], userName: 'a', active: 'False', displayName: 'True',
    emails: [{ value: 'a@x', primary: 'TRUE' }, { value: 'b@x', primary: ' false ' }],
    unknownThing: 'true',
  };
  const before = structuredClone(body);
  t.strictSame(coerceResourceBody(userResourceType, body), {
    schemas: [URN.user], userName: 'a', active: false, displayName: 'True',
    emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: false }],
    unknownThing: 'true',
  }, 'strings stay strings where the schema says string; unknown keys untouched');
  t.strictSame(body, before, 'input untouched');
  t.strictSame(coerceResourceBody(userResourceType, { Active: 'true' }), { Active: true }, 'case-insensitive attribute names');
  t.equal(coerceResourceBody(userResourceType, 'x'), 'x');
  t.strictSame(coerceResourceBody(userResourceType, { active: 'yes' }), { active: 'yes' }, 'non-boolean strings are left for validation to reject');
});

t.test('coerceResourceBody: extension object, bare manager id', async (t) => {
  t.strictSame(coerceResourceBody(userResourceType, { [ENT]: { manager: '271', department: 'X' } }),
    { [ENT]: { manager: { value: '271' }, department: 'X' } });
  t.strictSame(coerceResourceBody(userResourceType, { [ENT]: { manager: { value: '9', displayName: 'B' } } }),
    { [ENT]: { manager: { value: '9', displayName: 'B' } } }, 'a proper manager object is kept');
});

t.test('coerceAttributeValue: arrays, lone values, bare scalars', async (t) => {
  t.equal(coerceAttributeValue(userAttr('displayName'), ['X']), 'X', 'single-element array around a scalar (Entra B3)');
  t.strictSame(coerceAttributeValue(userAttr('displayName'), ['X', 'Y']), ['X', 'Y'], 'longer arrays are left for validation');
  t.strictSame(coerceAttributeValue(userAttr('emails'), { value: 'a@x' }), [{ value: 'a@x' }], 'lone value for multi-valued');
  t.strictSame(coerceAttributeValue(userAttr('emails'), ['a@x']), [{ value: 'a@x' }], 'bare scalar element');
  t.strictSame(coerceAttributeValue(userAttr('name'), [{ givenName: 'A' }]), { givenName: 'A' });
  t.equal(coerceAttributeValue(userAttr('active'), null), null);
});

t.test('Entra role strings', async (t) => {
  const json = '{"id":"827f","value":"Admin","displayName":"Admin role"}';
  t.strictSame(parseEntraRoleString(json), { value: 'Admin', display: 'Admin role' });
  t.strictSame(parseEntraRoleString('{"id":"827f"}'), { value: '827f' }, 'id when value is missing');
  t.equal(parseEntraRoleString('Admin'), undefined);
  t.equal(parseEntraRoleString('{not json'), undefined);
  t.equal(parseEntraRoleString('["a"]'), undefined);
  t.strictSame(coerceAttributeValue(userAttr('roles'), [{ value: json, primary: 'True', type: 'WindowsAzureActiveDirectoryRole' }]),
    [{ value: 'Admin', display: 'Admin role', primary: true, type: 'WindowsAzureActiveDirectoryRole' }]);
  t.strictSame(coerceAttributeValue(userAttr('roles'), [json, 'Plain']), [{ value: 'Admin', display: 'Admin role' }, { value: 'Plain' }]);
  t.strictSame(coerceAttributeValue(userAttr('entitlements'), [{ value: json }]), [{ value: json }], 'only roles are unwrapped');
});

t.test('groups: members pass through (type checked later)', async (t) => {
  const body = { displayName: 'G', members: [{ value: 'u1', $ref: null }] };
  t.strictSame(coerceResourceBody(groupResourceType, body), body);
});
