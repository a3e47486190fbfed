import t from 'tap';
import { DuplicateError, MissingReferenceError } from '../../src/db/errors.js';
import { DISPLAY_NAME_UNIQUE, MEMBER_FOREIGN_KEYS } from '../../src/db/groups.js';
import { USER_NAME_UNIQUE } from '../../src/db/users.js';
import { ScimError } from '../../src/scim/errors.js';
import { mapStorageErrors, storageToScimError } from '../../src/scim/storage-errors.js';

t.test('storage errors the client caused become SCIM errors', async (t) => {
  t.match(storageToScimError(new DuplicateError(USER_NAME_UNIQUE, 'Alice')), { status: 409, scimType: 'uniqueness', message: 'userName "Alice" is already in use' });
  t.match(storageToScimError(new DuplicateError(DISPLAY_NAME_UNIQUE, 'Ops')), { status: 409, scimType: 'uniqueness', message: 'A group named "Ops" already exists' });
  for (const constraint of MEMBER_FOREIGN_KEYS) {
    t.match(storageToScimError(new MissingReferenceError(constraint)), { status: 400, scimType: 'invalidValue', message: 'Unknown member id(s): a member was deleted while this request ran' }, constraint);
  }
});

t.test('other errors are not the client\'s: no SCIM error', async (t) => {
  t.equal(storageToScimError(new DuplicateError('tenants_name_key', 'acme')), undefined, 'a constraint SCIM does not know');
  t.equal(storageToScimError(new MissingReferenceError('group_members_group_fk')), undefined);
  t.equal(storageToScimError(Object.assign(new Error('duplicate key value'), { code: '23505', constraint: USER_NAME_UNIQUE })), undefined, 'a raw driver error');
  t.equal(storageToScimError(undefined), undefined);
});

t.test('mapStorageErrors passes results and unknown errors through, and maps the rest', async (t) => {
  t.equal(await mapStorageErrors(Promise.resolve(7)), 7);
  const other = new Error('boom');
  await t.rejects(mapStorageErrors(Promise.reject(other)), other);
  const mapped = await mapStorageErrors(Promise.reject(new DuplicateError(USER_NAME_UNIQUE, 'bob'))).catch((err: unknown) => err);
  t.type(mapped, ScimError);
  t.match(mapped, { status: 409, scimType: 'uniqueness' });
});
