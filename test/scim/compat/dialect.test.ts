import t from 'tap';
import { detectDialect, dialectProfile, hasEntraQueryFlag, resolveDialect, SCIM_DIALECTS } from '../../../src/scim/compat/dialect.js';
import { URN } from '../../../src/scim/urn.js';

const patch = (...Operations: unknown[]) => ({ schemas: [URN.patchOp], Operations });

t.test('Entra Tenant URL flags in any query form', async (t) => {
  t.equal(hasEntraQueryFlag('aadOptscim062020'), true);
  t.equal(hasEntraQueryFlag('/scim/v2/Users/1?aadOptSCIM062020=true'), true);
  t.equal(hasEntraQueryFlag(new URLSearchParams('AzureAdScimPatch2017')), true);
  t.equal(hasEntraQueryFlag({ aadOptscim062020: '' }), true);
  t.equal(hasEntraQueryFlag({ filter: 'x' }), false);
  t.equal(hasEntraQueryFlag(undefined), false);
  t.equal(detectDialect({ query: '?aadOptscim062020', body: patch({ op: 'replace', path: 'active', value: false }) }), 'entra',
    'the flag identifies Entra even when the body looks RFC-compliant');
});

t.test('User-Agent recognition', async (t) => {
  t.equal(detectDialect({ userAgent: 'Okta SCIM Client 1.0.0' }), 'okta');
  t.equal(detectDialect({ userAgent: 'OneLogin-SCIM/2.0' }), 'onelogin');
  t.equal(detectDialect({ userAgent: 'JumpCloud SCIM Client' }), 'jumpcloud');
  t.equal(detectDialect({ userAgent: 'Microsoft Azure AD provisioning' }), 'entra');
  t.equal(detectDialect({ userAgent: 'curl/8.5.0' }), 'generic');
});

t.test('body shapes only Entra sends', async (t) => {
  t.equal(detectDialect({ body: patch({ op: 'Replace', path: 'displayName', value: 'x' }) }), 'entra', 'capitalised op');
  t.equal(detectDialect({ body: patch({ op: 'replace', path: 'active', value: 'False' }) }), 'entra', '"False" for active');
  t.equal(detectDialect({ body: { schemas: [URN.group, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'], displayName: 'x' } }), 'entra');
  t.equal(detectDialect({ body: patch({ op: 'replace', path: 'active', value: 'false' }) }), 'generic', 'lowercase strings are not Entra-specific');
  t.equal(detectDialect({ body: patch({ op: 'REPLACE', path: 'displayName', value: 'x' }) }), 'generic');
});

t.test('Okta body shape and precedence', async (t) => {
  t.equal(detectDialect({ body: patch({ op: 'replace', value: { id: 'g1', displayName: 'x' } }) }), 'okta');
  t.equal(detectDialect({ body: patch({ op: 'replace', value: { active: false } }) }), 'generic', 'pathless active alone is RFC, not Okta-specific');
  t.equal(detectDialect({ userAgent: 'Okta SCIM Client 1.0.0', body: patch({ op: 'Replace', path: 'x', value: 1 }) }), 'okta', 'User-Agent beats body');
  t.equal(detectDialect({ query: 'aadOptscim062020', userAgent: 'Okta SCIM Client 1.0.0' }), 'entra', 'query flag beats User-Agent');
  t.equal(detectDialect({ body: 'not an object' }), 'generic');
});

t.test('explicit override beats detection', async (t) => {
  const body = patch({ op: 'Replace', path: 'active', value: 'False' });
  t.equal(resolveDialect('auto', { body }), 'entra');
  t.equal(resolveDialect('rfc', { body }), 'rfc');
  t.equal(resolveDialect('okta', { body }), 'okta');
});

t.test('profiles: rfc strict, entra creates on replace too, others create on add only', async (t) => {
  t.strictSame(dialectProfile('rfc'), { dialect: 'rfc', coerceValues: false, createOnUnmatchedFilter: { add: false, replace: false } });
  t.strictSame(dialectProfile('entra').createOnUnmatchedFilter, { add: true, replace: true });
  for (const d of SCIM_DIALECTS.filter((x) => x !== 'rfc' && x !== 'entra')) {
    t.strictSame(dialectProfile(d), { dialect: d, coerceValues: true, createOnUnmatchedFilter: { add: true, replace: false } }, d);
  }
});
