import t from 'tap';
import { ScimError } from '../../src/scim/errors.js';
import { parseScimFilter } from '../../src/scim/path.js';
import { findAttributeByName, groupResourceType, userResourceType } from '../../src/scim/registry.js';
import { attr } from '../../src/scim/schemas/types.js';
import { matchesValueFilter } from '../../src/scim/value-filter.js';

const emails = findAttributeByName(userResourceType.schema.attributes, 'emails')!;
const members = findAttributeByName(groupResourceType.schema.attributes, 'members')!;
const el = { value: 'Alice@Example.com', type: 'work', primary: true, display: 'Alice' };

function m(filter: string, element: unknown = el, attribute = emails): boolean {
  return matchesValueFilter(attribute, element, parseScimFilter(filter));
}

t.test('comparison operators on strings, caseExact false ignores case', async (t) => {
  const table: [string, boolean][] = [
    ['type eq "work"', true], ['type eq "WORK"', true], ['type eq "home"', false],
    ['type ne "home"', true], ['type ne "Work"', false],
    ['value co "example"', true], ['value co "nope"', false],
    ['value sw "alice@"', true], ['value sw "bob"', false],
    ['value ew ".COM"', true], ['value ew ".org"', false],
    ['display gt "Aaron"', true], ['display gt "Bob"', false], ['display ge "alice"', true],
    ['display lt "Bob"', true], ['display lt "Aaron"', false], ['display le "ALICE"', true],
    ['value pr', true], ['display pr', true],
    ['primary eq true', true], ['primary eq false', false], ['primary ne false', true],
    ['primary eq "True"', true],
  ];
  for (const [f, want] of table) t.equal(m(f), want, f);
});

t.test('caseExact sub-attributes compare exactly', async (t) => {
  const cs = attr('codes', 'complex', { multiValued: true, subAttributes: [attr('value', 'string', { caseExact: true })] });
  t.equal(m('value eq "ABC"', { value: 'ABC' }, cs), true);
  t.equal(m('value eq "abc"', { value: 'ABC' }, cs), false);
  t.equal(m('value sw "a"', { value: 'ABC' }, cs), false);
});

t.test('logical operators and precedence', async (t) => {
  t.equal(m('type eq "work" and primary eq true'), true);
  t.equal(m('type eq "work" and primary eq false'), false);
  t.equal(m('type eq "home" or primary eq true'), true);
  t.equal(m('type eq "home" or value eq "x"'), false);
  t.equal(m('not (type eq "home")'), true);
  t.equal(m('not (type eq "work")'), false);
  t.equal(m('type eq "home" or type eq "work" and primary eq false'), false, 'and binds tighter than or');
  t.equal(m('(type eq "home" or type eq "work") and not (primary eq false)'), true);
});

t.test('absent attributes: eq false, ne true, pr false, eq null true', async (t) => {
  const bare = { value: 'x@y' };
  t.equal(m('type eq "work"', bare), false);
  t.equal(m('type ne "work"', bare), true);
  t.equal(m('type pr', bare), false);
  t.equal(m('type eq null', bare), true);
  t.equal(m('value eq null', bare), false);
  t.equal(m('display pr', { value: 'x', display: '' }), false, 'empty string is not present');
});

t.test('numbers and dateTimes compare by value', async (t) => {
  const a = attr('things', 'complex', { multiValued: true, subAttributes: [attr('n', 'integer'), attr('at', 'dateTime')] });
  const x = { n: 10, at: '2024-05-01T10:00:00Z' };
  t.equal(m('n gt 9', x, a), true);
  t.equal(m('n lt 9', x, a), false);
  t.equal(m('n eq 10', x, a), true);
  t.equal(m('at gt "2024-05-01T09:00:00+00:00"', x, a), true);
  t.equal(m('at eq "2024-05-01T12:00:00+02:00"', x, a), true, 'same instant, different offset');
});

t.test('members filter, with $ref', async (t) => {
  const mem = { value: 'u1', type: 'User', $ref: 'https://x/Users/u1' };
  t.equal(m('value eq "u1"', mem, members), true);
  t.equal(m('value eq "u2" or value eq "u1"', mem, members), true);
  t.equal(m('$ref ew "/u1"', mem, members), true);
});

t.test('ordering operators on booleans and unknown names are invalidFilter ScimErrors', async (t) => {
  const bad = ['primary gt true', 'primary co "t"', 'nope eq "x"'];
  const scimType = (fn: () => unknown): unknown => {
    try { fn(); } catch (e) { return e instanceof ScimError ? e.scimType : e; }
    return 'no error';
  };
  for (const f of bad) t.equal(scimType(() => m(f)), 'invalidFilter', f);
  t.equal(scimType(() => matchesValueFilter(emails, el, parseScimFilter('emails[type eq "x"]'))), 'invalidFilter', 'nested value path');
});

t.test('simple multi-valued attribute: the element itself is "value"', async (t) => {
  const tags = attr('tags', 'string', { multiValued: true });
  t.equal(m('value eq "A"', 'a', tags), true);
  t.equal(m('value sw "b"', 'a', tags), false);
});
