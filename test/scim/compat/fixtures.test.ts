import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { coerceResourceBody } from '../../../src/scim/compat/coerce.js';
import { detectDialect } from '../../../src/scim/compat/dialect.js';
import { normalizePatchRequest } from '../../../src/scim/compat/patch-body.js';
import { ScimError } from '../../../src/scim/errors.js';
import { applyPatch, parsePatchRequest } from '../../../src/scim/patch.js';
import { applyMemberOpsToSet } from '../../../src/scim/patch-members.js';
import { groupResourceType, userResourceType } from '../../../src/scim/registry.js';
import type { ScimResource } from '../../../src/scim/schemas/types.js';

/** One real IdP request and its expected effect (format: test/fixtures/README.md). */
interface Fixture {
  description: string;
  method: 'PATCH' | 'POST' | 'PUT';
  path: string;
  query?: string;
  headers?: Record<string, string>;
  given: { resourceType: 'User' | 'Group'; id?: string; resource?: ScimResource; members?: string[] };
  body: unknown;
  expect: { status: number; dialect?: string; scimType?: string; resource?: ScimResource; members?: string[] };
}

const root = new URL('../../fixtures/', import.meta.url);
const idps = ['entra', 'okta', 'onelogin', 'jumpcloud'];

for (const idp of idps) {
  for (const file of readdirSync(new URL(`${idp}/`, root)).filter((f) => f.endsWith('.json')).sort()) {
    const fx = JSON.parse(readFileSync(new URL(`${idp}/${file}`, root), 'utf8')) as Fixture;
    t.test(`${idp}/${file}: ${fx.description}`, async (t) => {
      const rt = fx.given.resourceType === 'Group' ? groupResourceType : userResourceType;
      const signals = { userAgent: fx.headers?.['user-agent'], query: fx.query };
      const bodyBefore = structuredClone(fx.body);
      if (fx.expect.dialect) t.equal(detectDialect({ ...signals, body: fx.body }), fx.expect.dialect, 'dialect recognised');

      if (fx.method !== 'PATCH') {
        const coerced = coerceResourceBody(rt, fx.body) as ScimResource;
        t.strictSame(fx.body, bodyBefore, 'request body untouched');
        if (fx.expect.resource) t.has(coerced, fx.expect.resource, 'coerced body carries the expected attributes');
        if (fx.expect.members) {
          // POST/PUT with members sets exactly that membership (Okta AIW, Okta group push).
          const members = Array.isArray(coerced.members) ? coerced.members as { value: string }[] : [];
          t.strictSame(members.map((m) => m.value).sort(), [...fx.expect.members].sort(), 'membership from the body');
        }
        return;
      }

      const stored = structuredClone(fx.given.resource ?? {});
      const run = () => {
        const n = normalizePatchRequest(rt, fx.body, { ...signals, dialect: 'auto', resourceId: fx.given.id });
        const result = applyPatch(rt, stored, parsePatchRequest(n.body), n.options);
        const members = applyMemberOpsToSet(fx.given.members ?? [], result.memberOps);
        return { ...result, members, dialect: n.dialect };
      };
      if (fx.expect.status >= 400) {
        let scimType: string | undefined = 'no error';
        try { run(); } catch (e) { scimType = e instanceof ScimError ? e.scimType : String(e); }
        t.equal(scimType, fx.expect.scimType, 'error scimType');
        return;
      }
      const out = run();
      t.strictSame(fx.body, bodyBefore, 'request body untouched');
      t.strictSame(stored, fx.given.resource ?? {}, 'stored resource untouched');
      if (fx.expect.dialect) t.equal(out.dialect, fx.expect.dialect, 'dialect used');
      if (fx.expect.resource) t.strictSame(out.resource, fx.expect.resource, 'resulting resource JSON');
      if (fx.expect.members) t.strictSame([...out.members].sort(), [...fx.expect.members].sort(), 'resulting membership');
    });
  }
}
