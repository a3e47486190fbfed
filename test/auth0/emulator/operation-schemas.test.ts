import t from 'tap';
import { OPERATIONS } from '../../../src/auth0/emulator/operation-schemas.js';
import { buildOperationSchemas } from './generate-operation-schemas.js';
import { validateResponse } from './openapi.js';

t.test('the committed request-schema extract matches the OpenAPI spec', async (t) => {
  t.same(JSON.parse(JSON.stringify(OPERATIONS)), buildOperationSchemas(), 'regenerate with: npx tsx test/auth0/emulator/generate-operation-schemas.ts');
});

t.test('scopes come from the spec security requirements', async (t) => {
  t.same(OPERATIONS['POST /organizations/{id}/members'].scopes, ['create:organization_members']);
  t.same(OPERATIONS['PATCH /users/{id}'].scopes, ['update:users', 'update:users_app_metadata', 'update:current_user_metadata']);
});

t.test('the response validator rejects bodies that break the schema', async (t) => {
  t.ok(validateResponse('GET', '/roles/{id}', 200, { id: 'rol_aaaaaaaaaaaaaaaa', name: 'x', description: 'y' }).valid);
  t.notOk(validateResponse('GET', '/roles/{id}', 200, { id: 'rol_a', name: 'x', extra: true }).valid, 'Role has additionalProperties: false');
  t.notOk(validateResponse('GET', '/organizations/{id}', 200, { id: 'not-an-org-id', name: 'acme' }).valid, 'organization-id format');
  t.notOk(validateResponse('DELETE', '/users/{id}', 204, { unexpected: true }).valid, 'no body documented for 204');
  t.throws(() => validateResponse('GET', '/roles/{id}', 418, {}), 'an undocumented status is an error');
});
