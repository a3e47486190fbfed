import t from 'tap';
import { isStorableBody, isStorableJson, isStorableRecord, isStorableText } from '../../src/http/text-hygiene.js';

t.test('text: NUL and unpaired surrogates are refused, paired ones and the rest are kept', async (t) => {
  for (const ok of ['', 'abc', 'é', '😀', '\uD83D\uDE00x', '\uFFFD', '\uFEFF', '%00', '\\u0000']) t.ok(isStorableText(ok), JSON.stringify(ok));
  for (const bad of ['\u0000', 'a\u0000b', '\uD800', 'x\uDFFF', '\uDE00\uD83D', '😀\uD83D']) t.notOk(isStorableText(bad), JSON.stringify(bad));
});

t.test('JSON: every string, keys included, at any depth', async (t) => {
  t.ok(isStorableJson({ a: [1, null, true, { b: 'c' }], d: '😀' }));
  t.notOk(isStorableJson({ a: [{ b: ['x', 'y\u0000'] }] }), 'deep value');
  t.notOk(isStorableJson({ ['k\uD800']: 1 }), 'key');
  t.notOk(isStorableJson(['\uDC00']), 'array item');
});

t.test('body: only a `\\u` escape can produce what PostgreSQL refuses, so bodies without one are not walked', async (t) => {
  // Decoding invalid UTF-8 (here the CESU-8 bytes of U+D800) yields U+FFFD, never a lone surrogate.
  const decoded = Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]).toString('utf8');
  t.ok(isStorableText(JSON.parse(decoded) as string), 'decoded invalid UTF-8 is storable');
  t.throws(() => JSON.parse('"a\u0000b"'), 'JSON refuses a raw NUL in a string');
  t.notOk(isStorableBody('{"a":"\\u0000"}', { a: '\u0000' }));
  t.notOk(isStorableBody('{"a":"\\ud800"}', { a: '\uD800' }));
  t.ok(isStorableBody('{"a":"\\u00e9\\ud83d\\ude00"}', { a: 'é😀' }));
  t.ok(isStorableBody('{"a":"b"}', { a: '\u0000' }), 'not walked without an escape (the parsed value cannot hold one then)');
});

t.test('records: query strings and route params, repeated keys included', async (t) => {
  t.ok(isStorableRecord({ filter: 'userName eq "a"', tenant: 'acme' }));
  t.ok(isStorableRecord(undefined));
  t.notOk(isStorableRecord({ id: 'a\u0000' }));
  t.notOk(isStorableRecord({ filter: ['ok', '\uD800'] }));
});
