/**
 * The discovery documents (`/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig`) validated against the
 * RFC 7643 definitions, walked by a small SCIM validator written here:
 *
 * - §8.7.2 gives the schemas of Schema, ResourceType and ServiceProviderConfig themselves; they are below
 *   as data (`SCHEMA_META`, `RESOURCE_TYPE_META`, `SPC_META`), with the verified errata applied and §5's
 *   normative attributes that §8.7.2 forgot (each change is commented).
 * - §3.1 gives the common attributes (`id`, `meta`), RFC 7644 §3.4.2 the ListResponse envelope.
 * - §8.7.1 gives the User, Group and EnterpriseUser schemas (`RFC_USER`, `RFC_GROUP`, `RFC_ENTERPRISE`):
 *   what we serve must agree attribute by attribute, except for the deviations listed in `DEVIATIONS`,
 *   each with the reason it is deliberate.
 *
 * The validator is run once on deliberately broken copies of the served documents, so a validator that
 * accepts everything fails this file.
 */
import t from 'tap';
import { testApp, type ScimClient } from '../helpers/app.js';

const URN = {
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  spc: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
} as const;

// ---------------------------------------------------------------------------------------------------
// RFC 7643 attribute definitions as data
// ---------------------------------------------------------------------------------------------------

type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';

interface Def {
  readonly name: string;
  readonly type: AttrType;
  readonly multiValued: boolean;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: string;
  readonly returned: string;
  readonly uniqueness: string;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly Def[];
}

interface SchemaDef {
  readonly id: string;
  readonly name: string;
  readonly attributes: readonly Def[];
}

type Chars = Partial<Omit<Def, 'name' | 'type' | 'subAttributes'>>;

/** RFC 7643 §2.2: the characteristics an attribute definition leaves out take these defaults. */
const DEFAULTS = { multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' } as const;

function A(name: string, type: AttrType, chars: Chars = {}, subAttributes?: readonly Def[]): Def {
  return { name, type, ...DEFAULTS, ...chars, ...(subAttributes ? { subAttributes } : {}) };
}

const RO = { mutability: 'readOnly' } as const;
const ROREQ = { mutability: 'readOnly', required: true } as const;

/** RFC 7643 §2.3 data types. §8.7.2 lists all but `binary`: errata 5606 and 8415 (verified) add it. */
const TYPES = ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'];

/** The characteristics of one attribute definition, RFC 7643 §8.7.2 (`attributes` and its `subAttributes`). */
function attributeCharacteristics(nested: boolean): Def[] {
  return [
    A('name', 'string', { ...ROREQ, caseExact: true }),
    A('type', 'string', { ...ROREQ, canonicalValues: TYPES }),
    A('multiValued', 'boolean', ROREQ),
    A('description', 'string', { ...RO, caseExact: true }),
    A('required', 'boolean', RO),
    A('canonicalValues', 'string', { ...RO, multiValued: true, caseExact: true }),
    A('caseExact', 'boolean', RO),
    A('mutability', 'string', { ...RO, caseExact: true, canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] }),
    A('returned', 'string', { ...RO, caseExact: true, canonicalValues: ['always', 'never', 'default', 'request'] }),
    A('uniqueness', 'string', { ...RO, caseExact: true, canonicalValues: ['none', 'server', 'global'] }),
    // §8.7.2 has `multiValued: false` here for the nested definition; erratum 5607 (verified) makes it
    // true, as at the top level and as §7 describes it ("A multi-valued array of JSON strings").
    A('referenceTypes', 'string', { ...RO, multiValued: true, caseExact: true }),
    // The nested definition has no `subAttributes`: complex sub-attributes are not allowed (§2.3.8).
    ...(nested ? [] : [A('subAttributes', 'complex', { ...RO, multiValued: true }, attributeCharacteristics(true))]),
  ];
}

/** RFC 7643 §8.7.2, urn:ietf:params:scim:schemas:core:2.0:Schema. */
const SCHEMA_META: SchemaDef = {
  id: URN.schema,
  name: 'Schema',
  attributes: [
    A('id', 'string', ROREQ),
    A('name', 'string', ROREQ),
    A('description', 'string', RO),
    A('attributes', 'complex', { ...ROREQ, multiValued: true }, attributeCharacteristics(false)),
  ],
};

/** RFC 7643 §8.7.2, urn:ietf:params:scim:schemas:core:2.0:ResourceType. */
const RESOURCE_TYPE_META: SchemaDef = {
  id: URN.resourceType,
  name: 'ResourceType',
  attributes: [
    A('id', 'string', RO),
    A('name', 'string', ROREQ),
    A('description', 'string', RO),
    A('endpoint', 'reference', { ...ROREQ, referenceTypes: ['uri'] }),
    A('schema', 'reference', { ...ROREQ, referenceTypes: ['uri'], caseExact: true }),
    // §8.7.2 says `multiValued: false`; erratum 7522 (verified) makes it true (§6: "A list of ...").
    // §8.7.2 also says `required: true`, but §6 defines schemaExtensions as OPTIONAL: §6 is followed.
    A('schemaExtensions', 'complex', { ...RO, multiValued: true }, [
      A('schema', 'reference', { ...ROREQ, referenceTypes: ['uri'], caseExact: true }),
      A('required', 'boolean', ROREQ),
    ]),
  ],
};

const supported = A('supported', 'boolean', ROREQ);

/** RFC 7643 §8.7.2, urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig. */
const SPC_META: SchemaDef = {
  id: URN.spc,
  name: 'Service Provider Configuration',
  attributes: [
    A('documentationUri', 'reference', { ...RO, referenceTypes: ['external'] }),
    A('patch', 'complex', ROREQ, [supported]),
    A('bulk', 'complex', ROREQ, [supported, A('maxOperations', 'integer', ROREQ), A('maxPayloadSize', 'integer', ROREQ)]),
    A('filter', 'complex', ROREQ, [supported, A('maxResults', 'integer', ROREQ)]),
    A('changePassword', 'complex', ROREQ, [supported]),
    A('sort', 'complex', ROREQ, [supported]),
    // §5 defines `etag` (REQUIRED); the §8.7.2 representation leaves it out.
    A('etag', 'complex', ROREQ, [supported]),
    A('authenticationSchemes', 'complex', { ...ROREQ, multiValued: true }, [
      // §5 defines `type` (REQUIRED, with these values); §8.7.2 leaves it out (erratum 8011).
      A('type', 'string', { ...ROREQ, canonicalValues: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'] }),
      A('name', 'string', ROREQ),
      A('description', 'string', ROREQ),
      A('specUri', 'reference', { ...RO, referenceTypes: ['external'] }),
      A('documentationUri', 'reference', { ...RO, referenceTypes: ['external'] }),
      // Used by the §8.5 example, left out of §8.7.2 (erratum 8011).
      A('primary', 'boolean', RO),
    ]),
    // RFC 9865 §4 (updates RFC 7643) adds `pagination`.
    A('pagination', 'complex', RO, [
      A('cursor', 'boolean', ROREQ),
      A('index', 'boolean', ROREQ),
      A('defaultPaginationMethod', 'string', { ...RO, canonicalValues: ['cursor', 'index'] }),
      A('defaultPageSize', 'integer', RO),
      A('maxPageSize', 'integer', RO),
      A('cursorTimeout', 'integer', RO),
    ]),
  ],
};

/** RFC 7643 §3.1 common attributes as they apply to discovery resources (no `externalId` there). */
const COMMON: readonly Def[] = [
  A('id', 'string', { ...RO, caseExact: true, returned: 'always', uniqueness: 'server' }),
  A('meta', 'complex', RO, [
    A('resourceType', 'string', { ...RO, caseExact: true }),
    A('created', 'dateTime', RO),
    A('lastModified', 'dateTime', RO),
    A('location', 'reference', { ...RO, caseExact: true, referenceTypes: ['uri'] }),
    A('version', 'string', { ...RO, caseExact: true }),
  ]),
];

// RFC 7643 §8.7.1, with the verified errata applied (5368, 8471, 8472). Characteristics the RFC leaves
// out take the §2.2 defaults, as they do in the RFC.

const str = (name: string, chars: Chars = {}) => A(name, 'string', chars);
const bool = (name: string, chars: Chars = {}) => A(name, 'boolean', chars);
/** The value/display/type/primary shape of the User's multi-valued attributes. */
const plural = (name: string, value: Def, typeChars: Chars): Def =>
  A(name, 'complex', { multiValued: true }, [value, str('display'), str('type', typeChars), bool('primary')]);

const RFC_USER: SchemaDef = {
  id: URN.user,
  name: 'User',
  attributes: [
    str('userName', { required: true, uniqueness: 'server' }),
    A('name', 'complex', {}, ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => str(n))),
    str('displayName'),
    str('nickName'),
    A('profileUrl', 'reference', { referenceTypes: ['external'] }),
    str('title'),
    str('userType'),
    str('preferredLanguage'),
    str('locale'),
    str('timezone'),
    bool('active'),
    str('password', { mutability: 'writeOnly', returned: 'never' }),
    plural('emails', str('value'), { canonicalValues: ['work', 'home', 'other'] }),
    plural('phoneNumbers', str('value'), { canonicalValues: ['work', 'home', 'mobile', 'fax', 'pager', 'other'] }),
    plural('ims', str('value'), { canonicalValues: ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'] }),
    plural('photos', A('value', 'reference', { referenceTypes: ['external'] }), { canonicalValues: ['photo', 'thumbnail'] }),
    A('addresses', 'complex', { multiValued: true }, [
      ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country'].map((n) => str(n)),
      str('type', { canonicalValues: ['work', 'home', 'other'] }),
    ]),
    A('groups', 'complex', { ...RO, multiValued: true }, [
      str('value', RO),
      // The RFC says ["User", "Group"]; erratum 8471 (verified): ["Group"].
      A('$ref', 'reference', { ...RO, referenceTypes: ['Group'] }),
      str('display', RO),
      str('type', { ...RO, canonicalValues: ['direct', 'indirect'] }),
    ]),
    plural('entitlements', str('value'), {}),
    plural('roles', str('value'), { canonicalValues: [] }),
    plural('x509Certificates', A('value', 'binary'), { canonicalValues: [] }),
  ],
};

const RFC_GROUP: SchemaDef = {
  id: URN.group,
  name: 'Group',
  attributes: [
    // The RFC says `required: false` (its description says REQUIRED, as does §4.2); erratum 5368 (verified): true.
    str('displayName', { required: true }),
    A('members', 'complex', { multiValued: true }, [
      str('value', { mutability: 'immutable' }),
      A('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
      str('type', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
    ]),
  ],
};

const RFC_ENTERPRISE: SchemaDef = {
  id: URN.enterprise,
  name: 'EnterpriseUser',
  attributes: [
    ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => str(n)),
    A('manager', 'complex', {}, [
      // The RFC says `caseExact: false`; erratum 8472 (verified): true, as it holds an `id` (§3.1).
      str('value', { caseExact: true }),
      A('$ref', 'reference', { referenceTypes: ['User'] }),
      str('displayName', RO),
    ]),
  ],
};

/**
 * Where the served User, Group and EnterpriseUser schemas differ from RFC 7643 §8.7.1 on purpose. Each key
 * is a difference as `compareWithRfc` words it; the test fails on any difference not listed here, and on
 * any listed here that no longer occurs.
 */
const DEVIATIONS: Record<string, string> = {
  'Group.displayName.uniqueness: RFC "none", served "server"':
    'Group displayName is unique per tenant, case-insensitively (409 uniqueness): IdPs match groups by displayName ' +
    'and Auth0 needs unique names (README "Choices", src/scim/schemas/group.ts).',
  'Group.members.display: not in RFC 7643 §8.7.1':
    'display is one of the default sub-attributes of a multi-valued attribute (§2.4) and IdPs read it; the server ' +
    'fills it from the member (readOnly), the same in every answer (README "Choices").',
  'User.addresses.primary: not in RFC 7643 §8.7.1':
    'primary is one of the default sub-attributes of a multi-valued attribute (§2.4) and the §8.2 example sends ' +
    'addresses[].primary; emails, phoneNumbers, ims and photos have it in §8.7.1 too.',
};

// ---------------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** xsd:dateTime (RFC 7643 §2.3.5). */
const DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isAbsoluteUri(s: string): boolean {
  try {
    return new URL(s).protocol.length > 1;
  } catch {
    return false;
  }
}

function isUriReference(s: string): boolean {
  if (s === '' || /\s/.test(s)) return false;
  try {
    new URL(s, 'https://base.invalid/');
    return true;
  } catch {
    return false;
  }
}

function checkSingle(v: unknown, def: Def, path: string, errors: string[]): void {
  const fail = (what: string): void => {
    errors.push(`${path}: ${what}, got ${JSON.stringify(v)}`);
  };
  switch (def.type) {
    case 'string':
      if (typeof v !== 'string') return fail('expected a string');
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return fail('expected a boolean');
      break;
    case 'integer':
      if (!Number.isInteger(v)) return fail('expected an integer');
      break;
    case 'decimal':
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail('expected a decimal');
      break;
    case 'dateTime':
      if (typeof v !== 'string' || !DATE_TIME.test(v) || Number.isNaN(Date.parse(v))) return fail('expected an xsd:dateTime');
      break;
    case 'binary':
      if (typeof v !== 'string' || !BASE64.test(v)) return fail('expected base64');
      break;
    case 'reference': {
      if (typeof v !== 'string' || !isUriReference(v)) return fail('expected a URI reference');
      // `external` alone: a resource outside the service provider, so an absolute URI (§2.3.7).
      const types = def.referenceTypes ?? [];
      if (types.length > 0 && types.every((r) => r === 'external') && !isAbsoluteUri(v)) return fail('expected an absolute URI');
      break;
    }
    case 'complex':
      if (!isObject(v)) return fail('expected a JSON object');
      checkObject(v, def.subAttributes ?? [], path, errors);
      return;
  }
  const canonical = def.canonicalValues ?? [];
  if (canonical.length > 0 && typeof v === 'string') {
    const known = def.caseExact ? canonical.includes(v) : canonical.some((c) => c.toLowerCase() === v.toLowerCase());
    if (!known) fail(`not one of the canonical values ${JSON.stringify(canonical)}`);
  }
}

function checkValue(v: unknown, def: Def, path: string, errors: string[]): void {
  if (v === null) {
    errors.push(`${path}: null (an unassigned attribute is left out, RFC 7643 §2.5)`);
    return;
  }
  if (def.multiValued) {
    if (!Array.isArray(v)) {
      errors.push(`${path}: multi-valued, expected an array, got ${JSON.stringify(v)}`);
      return;
    }
    v.forEach((element, i) => checkSingle(element, def, `${path}[${i}]`, errors));
    return;
  }
  if (Array.isArray(v)) {
    errors.push(`${path}: single-valued, got an array`);
    return;
  }
  checkSingle(v, def, path, errors);
}

/** The keys of `obj` against `defs`: no unknown key, every required one present, each value well-typed. */
function checkObject(obj: Json, defs: readonly Def[], path: string, errors: string[]): void {
  for (const key of Object.keys(obj)) {
    if (defs.some((d) => d.name === key)) continue;
    const other = defs.find((d) => d.name.toLowerCase() === key.toLowerCase());
    errors.push(other ? `${path}.${key}: spelled "${other.name}" by the schema` : `${path}.${key}: not defined by the schema`);
  }
  for (const def of defs) {
    const v = obj[def.name];
    if (v === undefined || (def.multiValued && Array.isArray(v) && v.length === 0)) {
      if (def.required) errors.push(`${path}.${def.name}: required, missing`);
      if (v === undefined) continue;
    }
    checkValue(v, def, `${path}.${def.name}`, errors);
  }
}

/**
 * One SCIM resource against the schema it claims: `schemas` (RFC 7643 §3), the common attributes `id` and
 * `meta` (§3.1), the schema's attributes, and extension keys (URNs listed in `schemas`). Returns the errors.
 */
function validateResource(doc: unknown, schema: SchemaDef, resourceType: string): string[] {
  const errors: string[] = [];
  const path = resourceType;
  if (!isObject(doc)) return [`${path}: not a JSON object`];
  const { schemas, ...rest } = doc;
  const uris = Array.isArray(schemas) && schemas.every((s) => typeof s === 'string') ? (schemas as string[]) : undefined;
  if (!uris || uris.length === 0) errors.push(`${path}.schemas: required, a non-empty array of URIs, got ${JSON.stringify(schemas)}`);
  else {
    if (!uris.includes(schema.id)) errors.push(`${path}.schemas: ${JSON.stringify(uris)} lacks ${schema.id}`);
    if (new Set(uris.map((u) => u.toLowerCase())).size !== uris.length) errors.push(`${path}.schemas: repeats a URI`);
  }
  const attributes: Json = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!key.toLowerCase().startsWith('urn:')) attributes[key] = value;
    else if (!uris?.some((u) => u.toLowerCase() === key.toLowerCase())) errors.push(`${path}.${key}: an extension not listed in "schemas"`);
    else if (!isObject(value)) errors.push(`${path}.${key}: an extension must be a JSON object`);
  }
  const defs = [...COMMON.filter((c) => !schema.attributes.some((a) => a.name === c.name)), ...schema.attributes];
  checkObject(attributes, defs, path, errors);
  // What a discovery document must carry on top of the schema (the task's acceptance criterion).
  const meta = doc.meta;
  if (!isObject(meta)) errors.push(`${path}.meta: missing`);
  else {
    if (meta.resourceType !== resourceType) errors.push(`${path}.meta.resourceType: expected "${resourceType}", got ${JSON.stringify(meta.resourceType)}`);
    if (typeof meta.location !== 'string' || !isAbsoluteUri(meta.location)) errors.push(`${path}.meta.location: expected an absolute URI, got ${JSON.stringify(meta.location)}`);
  }
  return errors;
}

/** RFC 7643 §2.1 ATTRNAME, plus the reserved `$ref`. */
const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

/**
 * What §7 and §2 ask of a schema's attribute definitions beyond their types: valid and distinct names,
 * `subAttributes` exactly on complex attributes and never nested deeper (§2.3.8), `referenceTypes` exactly
 * on references, naming a served resource type, `external` or `uri`.
 */
function validateSchemaDefinitions(doc: Json, resourceTypeNames: readonly string[]): string[] {
  const errors: string[] = [];
  const walk = (attrs: unknown, path: string, depth: number) => {
    if (!Array.isArray(attrs)) return;
    const seen = new Set<string>();
    for (const a of attrs as Json[]) {
      const name = String(a.name);
      const at = `${path}.${name}`;
      if (!ATTRNAME.test(name)) errors.push(`${at}: not a valid attribute name (§2.1)`);
      if (seen.has(name.toLowerCase())) errors.push(`${at}: defined twice (names are case-insensitive)`);
      seen.add(name.toLowerCase());
      const subs = a.subAttributes;
      if (a.type === 'complex' && (!Array.isArray(subs) || subs.length === 0)) errors.push(`${at}: complex without subAttributes (§7)`);
      if (a.type !== 'complex' && subs !== undefined) errors.push(`${at}: subAttributes on a ${String(a.type)} attribute`);
      if (a.type === 'complex' && depth > 0) errors.push(`${at}: a complex sub-attribute (§2.3.8)`);
      const refs = a.referenceTypes;
      if (a.type === 'reference' && (!Array.isArray(refs) || refs.length === 0)) errors.push(`${at}: reference without referenceTypes (§7)`);
      if (a.type !== 'reference' && refs !== undefined) errors.push(`${at}: referenceTypes on a ${String(a.type)} attribute (§7)`);
      for (const r of Array.isArray(refs) ? refs : []) {
        if (!['external', 'uri', ...resourceTypeNames].includes(String(r))) errors.push(`${at}.referenceTypes: "${String(r)}" is no served resource type, "external" or "uri"`);
      }
      walk(subs, at, depth + 1);
    }
  };
  walk(doc.attributes, String(doc.name), 0);
  return errors;
}

/** RFC 7644 §3.4.2 ListResponse holding a whole, unpaged list (discovery endpoints do not page, §4). */
function validateListResponse(body: unknown): string[] {
  if (!isObject(body)) return ['ListResponse: not a JSON object'];
  const errors: string[] = [];
  const allowed = ['schemas', 'totalResults', 'Resources', 'startIndex', 'itemsPerPage'];
  for (const key of Object.keys(body)) if (!allowed.includes(key)) errors.push(`ListResponse.${key}: not a ListResponse attribute`);
  if (JSON.stringify(body.schemas) !== JSON.stringify([URN.list])) errors.push(`ListResponse.schemas: expected ["${URN.list}"], got ${JSON.stringify(body.schemas)}`);
  const total = body.totalResults;
  if (!Number.isInteger(total) || (total as number) < 0) errors.push(`ListResponse.totalResults: required, a non-negative integer, got ${JSON.stringify(total)}`);
  const resources = body.Resources;
  if (!Array.isArray(resources)) errors.push(`ListResponse.Resources: required, an array, got ${JSON.stringify(resources)}`);
  else {
    if (total !== resources.length) errors.push(`ListResponse.totalResults: ${String(total)}, but ${resources.length} Resources`);
    if (body.itemsPerPage !== undefined && body.itemsPerPage !== resources.length) errors.push(`ListResponse.itemsPerPage: ${JSON.stringify(body.itemsPerPage)}, but ${resources.length} Resources`);
    if (resources.some((r) => !isObject(r))) errors.push('ListResponse.Resources: an element is not a JSON object');
  }
  if (body.startIndex !== undefined && body.startIndex !== 1) errors.push(`ListResponse.startIndex: ${JSON.stringify(body.startIndex)}, expected 1 for a whole list`);
  return errors;
}

const CHARACTERISTICS = ['type', 'multiValued', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'] as const;
const sameSet = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

/** A served schema document against its RFC 7643 §8.7.1 definition: every difference, worded for `DEVIATIONS`. */
function compareWithRfc(served: Json, rfc: SchemaDef): string[] {
  const diffs: string[] = [];
  if (served.id !== rfc.id) diffs.push(`${rfc.name}: id ${JSON.stringify(served.id)}`);
  if (served.name !== rfc.name) diffs.push(`${rfc.name}: name ${JSON.stringify(served.name)}`);
  const compare = (servedAttrs: unknown, rfcAttrs: readonly Def[], path: string) => {
    const list = (Array.isArray(servedAttrs) ? servedAttrs : []) as Json[];
    for (const r of rfcAttrs) {
      const at = `${path}.${r.name}`;
      const s = list.find((x) => x.name === r.name);
      if (!s) {
        diffs.push(`${at}: missing`);
        continue;
      }
      for (const c of CHARACTERISTICS) {
        const value = s[c] ?? (DEFAULTS as Record<string, unknown>)[c];
        if (value !== r[c]) diffs.push(`${at}.${c}: RFC ${JSON.stringify(r[c])}, served ${JSON.stringify(value)}`);
      }
      for (const c of ['canonicalValues', 'referenceTypes'] as const) {
        const value = (s[c] ?? []) as string[];
        if (!sameSet(value, r[c] ?? [])) diffs.push(`${at}.${c}: RFC ${JSON.stringify(r[c] ?? [])}, served ${JSON.stringify(value)}`);
      }
      compare(s.subAttributes, r.subAttributes ?? [], at);
    }
    for (const s of list) if (!rfcAttrs.some((r) => r.name === s.name)) diffs.push(`${path}.${String(s.name)}: not in RFC 7643 §8.7.1`);
  };
  compare(served.attributes, rfc.attributes, rfc.name);
  return diffs;
}

// ---------------------------------------------------------------------------------------------------
// The test: one app, the discovery documents fetched once
// ---------------------------------------------------------------------------------------------------

/** GETs a `meta.location` (or any absolute URL under the tenant's SCIM base) through the app. */
async function getLocation(scim: ScimClient, location: string) {
  const url = new URL(location);
  const base = `/scim/v2/${scim.tenant}`;
  if (!url.pathname.startsWith(`${base}/`)) throw new Error(`${location} is not under ${base}`);
  return scim.json('GET', url.pathname.slice(base.length) + url.search);
}

t.test('discovery documents are valid against RFC 7643', async (t) => {
  const { scim } = await testApp(t);

  const [schemasRes, typesRes, spcRes] = await Promise.all([
    scim.json('GET', '/Schemas'),
    scim.json('GET', '/ResourceTypes'),
    scim.json('GET', '/ServiceProviderConfig'),
  ]);
  for (const [what, res] of [['/Schemas', schemasRes], ['/ResourceTypes', typesRes], ['/ServiceProviderConfig', spcRes]] as const) {
    t.equal(res.status, 200, `${what}: 200`);
    t.match(res.headers['content-type'], /^application\/scim\+json/, `${what}: application/scim+json`);
  }
  const schemaDocs = (schemasRes.body?.Resources ?? []) as Json[];
  const typeDocs = (typesRes.body?.Resources ?? []) as Json[];
  const spc = spcRes.body as Json;
  const typeNames = typeDocs.map((d) => String(d.name));
  const served = new Map(schemaDocs.map((d) => [String(d.id), d]));

  t.test('/Schemas and /ResourceTypes are RFC 7644 §3.4.2 ListResponses', async (t) => {
    t.same(validateListResponse(schemasRes.body), [], '/Schemas');
    t.same(validateListResponse(typesRes.body), [], '/ResourceTypes');
  });

  t.test('each /Schemas resource is valid against the §8.7.2 Schema schema', async (t) => {
    t.ok(schemaDocs.length > 0, 'schemas are served');
    for (const doc of schemaDocs) {
      t.same(validateResource(doc, SCHEMA_META, 'Schema'), [], `${String(doc.id)}: valid`);
      t.same(validateSchemaDefinitions(doc, typeNames), [], `${String(doc.id)}: attribute definitions follow §7`);
      t.same(doc.schemas, [URN.schema], `${String(doc.id)}: schemas`);
    }
  });

  t.test('each /ResourceTypes resource is valid against the §8.7.2 ResourceType schema', async (t) => {
    t.ok(typeDocs.length > 0, 'resource types are served');
    const referenced = new Set<string>();
    for (const doc of typeDocs) {
      t.same(validateResource(doc, RESOURCE_TYPE_META, 'ResourceType'), [], `${String(doc.name)}: valid`);
      t.same(doc.schemas, [URN.resourceType], `${String(doc.name)}: schemas`);
      const schemaIds = [doc.schema, ...((doc.schemaExtensions ?? []) as Json[]).map((e) => e.schema)].map(String);
      for (const id of schemaIds) {
        t.ok(served.has(id), `${String(doc.name)}: ${id} is served by /Schemas`);
        referenced.add(id);
      }
      t.match(doc.endpoint, /^\/[A-Za-z]+$/, `${String(doc.name)}: endpoint relative to the base URL (§6)`);
      const list = await scim.json('GET', `${String(doc.endpoint)}?count=1`);
      t.equal(list.status, 200, `${String(doc.name)}: GET ${String(doc.endpoint)} answers`);
      t.same(list.body?.schemas, [URN.list], `${String(doc.name)}: ${String(doc.endpoint)} lists resources`);
    }
    t.same([...served.keys()].sort(), [...referenced].sort(), 'every served schema belongs to a resource type');
  });

  t.test('/ServiceProviderConfig is valid against the §8.7.2 ServiceProviderConfig schema', async (t) => {
    t.same(validateResource(spc, SPC_META, 'ServiceProviderConfig'), [], 'valid');
    t.same(spc.schemas, [URN.spc], 'schemas');
    const schemes = (spc.authenticationSchemes ?? []) as Json[];
    t.ok(schemes.filter((s) => s.primary === true).length <= 1, 'at most one primary authentication scheme');
  });

  t.test('every meta.location resolves to the same document, as do /Schemas/{id} and /ResourceTypes/{name}', async (t) => {
    const docs: [string, Json][] = [
      ...schemaDocs.map((d) => [`/Schemas/${String(d.id)}`, d] as [string, Json]),
      ...typeDocs.map((d) => [`/ResourceTypes/${String(d.name)}`, d] as [string, Json]),
    ];
    for (const [path, doc] of docs) {
      const byPath = await scim.json('GET', path);
      t.equal(byPath.status, 200, `GET ${path}`);
      t.same(byPath.body, doc, `GET ${path} is the document listed`);
      const location = String((doc.meta as Json | undefined)?.location);
      t.ok(location.endsWith(path), `${path}: meta.location ${location} names it`);
      const byLocation = await getLocation(scim, location);
      t.equal(byLocation.status, 200, `GET ${location}`);
      t.same(byLocation.body, doc, `GET ${location} is the document listed`);
    }
    const location = String((spc.meta as Json | undefined)?.location);
    const back = await getLocation(scim, location);
    t.equal(back.status, 200, `GET ${location}`);
    t.same(back.body, spc, `GET ${location} is the ServiceProviderConfig`);
  });

  t.test('User, Group and EnterpriseUser agree with RFC 7643 §8.7.1 but for the listed deviations', async (t) => {
    const diffs: string[] = [];
    for (const rfc of [RFC_USER, RFC_GROUP, RFC_ENTERPRISE]) {
      const doc = served.get(rfc.id);
      if (!doc) {
        t.fail(`${rfc.id} is not served`);
        continue;
      }
      diffs.push(...compareWithRfc(doc, rfc));
    }
    t.same(diffs.sort(), Object.keys(DEVIATIONS).sort(), 'exactly the deliberate deviations');
  });

  t.test('the validator rejects broken documents', async (t) => {
    const user = served.get(URN.user);
    const userType = typeDocs.find((d) => d.name === 'User');
    if (!user || !userType) return t.fail('User schema and resource type are served');
    type Case = [string, () => string[], RegExp];
    const broken = <T>(doc: T, mutate: (copy: any) => void): T => {
      const copy = structuredClone(doc);
      mutate(copy);
      return copy;
    };
    const schemaErrors = (mutate: (copy: any) => void) => validateResource(broken(user, mutate), SCHEMA_META, 'Schema');
    const cases: Case[] = [
      ['a required attribute missing', () => schemaErrors((c) => delete c.attributes[0].type), /^Schema\.attributes\[0\]\.type: required, missing$/],
      ['a boolean sent as a string', () => schemaErrors((c) => (c.attributes[0].multiValued = 'false')), /^Schema\.attributes\[0\]\.multiValued: expected a boolean/],
      ['a value outside canonicalValues (caseExact)', () => schemaErrors((c) => (c.attributes[0].mutability = 'readonly')), /mutability: not one of the canonical values/],
      ['an unknown type', () => schemaErrors((c) => (c.attributes[0].type = 'text')), /\.type: not one of the canonical values/],
      ['a bad returned in a sub-attribute', () => schemaErrors((c) => (c.attributes.find((a: Json) => a.name === 'emails').subAttributes[0].returned = 'sometimes')), /subAttributes\[0\]\.returned: not one of the canonical values/],
      ['an array where one value goes', () => schemaErrors((c) => (c.name = ['User'])), /^Schema\.name: single-valued, got an array$/],
      ['one value where an array goes', () => schemaErrors((c) => (c.attributes[1].subAttributes = c.attributes[1].subAttributes[0])), /subAttributes: multi-valued, expected an array/],
      ['an unknown top-level attribute', () => schemaErrors((c) => (c.version = 2)), /^Schema\.version: not defined by the schema$/],
      ['an attribute in the wrong case', () => schemaErrors((c) => { c.Attributes = c.attributes; delete c.attributes; }), /^Schema\.Attributes: spelled "attributes"/],
      ['an unknown attribute characteristic', () => schemaErrors((c) => (c.attributes[0].nullable = false)), /attributes\[0\]\.nullable: not defined by the schema/],
      ['a null', () => schemaErrors((c) => (c.description = null)), /^Schema\.description: null/],
      ['the wrong schemas URN', () => schemaErrors((c) => (c.schemas = [URN.resourceType])), /schemas: .* lacks urn:ietf:params:scim:schemas:core:2\.0:Schema/],
      ['an extension not listed in schemas', () => schemaErrors((c) => (c['urn:example:ext'] = {})), /urn:example:ext: an extension not listed/],
      ['meta.resourceType wrong', () => schemaErrors((c) => (c.meta.resourceType = 'User')), /meta\.resourceType: expected "Schema"/],
      ['meta.location missing', () => schemaErrors((c) => delete c.meta.location), /meta\.location: expected an absolute URI/],
      ['meta.created not a dateTime', () => schemaErrors((c) => (c.meta.created = 'yesterday')), /meta\.created: expected an xsd:dateTime/],
      ['subAttributes on a string', () => validateSchemaDefinitions(broken(user, (c) => (c.attributes[0].subAttributes = [])), typeNames), /userName: subAttributes on a string attribute/],
      ['a reference without referenceTypes', () => validateSchemaDefinitions(broken(user, (c) => delete c.attributes.find((a: Json) => a.name === 'profileUrl').referenceTypes), typeNames), /profileUrl: reference without referenceTypes/],
      ['a reference to an unserved resource type', () => validateSchemaDefinitions(broken(user, (c) => (c.attributes.find((a: Json) => a.name === 'groups').subAttributes.find((a: Json) => a.name === '$ref').referenceTypes = ['Device'])), typeNames), /"Device" is no served resource type/],
      ['a complex sub-attribute', () => validateSchemaDefinitions(broken(user, (c) => (c.attributes.find((a: Json) => a.name === 'name').subAttributes[0].type = 'complex')), typeNames), /a complex sub-attribute/],
      ['schemaExtensions as one object', () => validateResource(broken(userType, (c) => (c.schemaExtensions = c.schemaExtensions[0])), RESOURCE_TYPE_META, 'ResourceType'), /schemaExtensions: multi-valued, expected an array/],
      ['schemaExtensions without required', () => validateResource(broken(userType, (c) => delete c.schemaExtensions[0].required), RESOURCE_TYPE_META, 'ResourceType'), /schemaExtensions\[0\]\.required: required, missing/],
      ['endpoint missing', () => validateResource(broken(userType, (c) => delete c.endpoint), RESOURCE_TYPE_META, 'ResourceType'), /^ResourceType\.endpoint: required, missing$/],
      ['etag missing', () => validateResource(broken(spc, (c) => delete c.etag), SPC_META, 'ServiceProviderConfig'), /^ServiceProviderConfig\.etag: required, missing$/],
      ['a fractional integer', () => validateResource(broken(spc, (c) => (c.bulk.maxOperations = 1.5)), SPC_META, 'ServiceProviderConfig'), /bulk\.maxOperations: expected an integer/],
      ['an unknown authentication scheme type', () => validateResource(broken(spc, (c) => (c.authenticationSchemes[0].type = 'bearer')), SPC_META, 'ServiceProviderConfig'), /authenticationSchemes\[0\]\.type: not one of the canonical values/],
      ['a relative documentationUri', () => validateResource(broken(spc, (c) => (c.documentationUri = 'docs/readme')), SPC_META, 'ServiceProviderConfig'), /documentationUri: expected an absolute URI/],
      ['an unknown ServiceProviderConfig attribute', () => validateResource(broken(spc, (c) => (c.cursor = { supported: false })), SPC_META, 'ServiceProviderConfig'), /^ServiceProviderConfig\.cursor: not defined by the schema$/],
      ['totalResults off by one', () => validateListResponse(broken(schemasRes.body, (c) => (c.totalResults += 1))), /totalResults: \d+, but \d+ Resources/],
      ['a ListResponse without schemas', () => validateListResponse(broken(schemasRes.body, (c) => delete c.schemas)), /ListResponse\.schemas: expected/],
      ['a second page', () => validateListResponse(broken(schemasRes.body, (c) => (c.startIndex = 2))), /startIndex: 2, expected 1/],
      ['a characteristic differing from §8.7.1', () => compareWithRfc(broken(user, (c) => (c.attributes[0].uniqueness = 'none')), RFC_USER), /^User\.userName\.uniqueness: RFC "server", served "none"$/],
      ['a §8.7.1 sub-attribute missing', () => compareWithRfc(broken(user, (c) => c.attributes.find((a: Json) => a.name === 'emails').subAttributes.pop()), RFC_USER), /^User\.emails\.primary: missing$/],
      ['canonicalValues differing from §8.7.1', () => compareWithRfc(broken(user, (c) => c.attributes.find((a: Json) => a.name === 'ims').subAttributes.find((a: Json) => a.name === 'type').canonicalValues.pop()), RFC_USER), /^User\.ims\.type\.canonicalValues: RFC/],
    ];
    for (const [name, run, expected] of cases) {
      const errors = run();
      t.ok(errors.some((e) => expected.test(e)), `${name}: caught`, { errors, expected: String(expected) });
    }
  });
});
