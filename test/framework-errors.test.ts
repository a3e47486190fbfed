import { connect } from 'node:net';
import t from 'tap';
import { operator } from './helpers/admin.js';
import { testApp } from './helpers/app.js';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Sends raw bytes to a listening app and returns the raw answer (the connection is closed after a client error). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => { answer += chunk; });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function parseRaw(answer: string): { status: number; type: string; body: Record<string, unknown> } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(head.split(' ')[1]);
  const type = /content-type: ([^\r\n]*)/i.exec(head)?.[1] ?? '';
  return { status, type, body: JSON.parse(body) as Record<string, unknown> };
}

t.test('URLs Fastify cannot decode, and path parameters over its length limit, answer in the API\'s body', async (t) => {
  const h = await testApp(t);
  const auth = { authorization: `Bearer ${h.scim.token}` };
  const bad = await h.app.inject({ method: 'GET', url: '/scim/v2/acme/Users/%E0%A4%A', headers: auth });
  t.equal(bad.statusCode, 400);
  t.match(bad.headers['content-type'], /^application\/scim\+json/);
  t.match(bad.json(), { schemas: [ERROR_URN], status: '400', scimType: 'invalidSyntax' });

  const badAdmin = await h.app.inject({ method: 'GET', url: '/v1/admin/tenants/%E0%A4%A' });
  t.equal(badAdmin.statusCode, 400);
  t.match(badAdmin.json(), { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: String });

  const long = await h.app.inject({ method: 'GET', url: `/scim/v2/acme/Users/${'a'.repeat(300)}`, headers: auth });
  t.equal(long.statusCode, 404, 'no id of ours is that long');
  t.match(long.json(), { schemas: [ERROR_URN], status: '404' });
});

t.test('unsupported methods and unknown paths under /scim and /v1/admin', async (t) => {
  const h = await testApp(t);
  const admin = await operator(h.app, h.database);
  for (const method of ['PROPFIND', 'TRACE', 'MKCOL'] as const) {
    for (const url of ['/scim/v2/acme/Users', '/scim/v2', '/scim']) {
      const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${h.scim.token}` } });
      t.equal(res.statusCode, 404, `${method} ${url}`);
      t.match(res.headers['content-type'], /^application\/scim\+json/, `${method} ${url}: SCIM content type`);
      t.match(res.json(), { schemas: [ERROR_URN], status: '404', detail: String }, `${method} ${url}: SCIM body`);
    }
  }
  const propfind = await h.app.inject({ method: 'PROPFIND', url: '/v1/admin/tenants', headers: { authorization: 'Bearer nope' } });
  t.equal(propfind.statusCode, 401, 'the admin API authenticates before it looks the route up');
  t.match(propfind.json(), { statusCode: 401, code: 'unauthorized' });
  const other = await h.app.inject({ method: 'GET', url: '/nope' });
  t.match(other.json(), { statusCode: 404, error: 'Not Found', message: String });

  const res = await admin('GET', '/tenants/acme/users/not-a-uuid');
  t.equal(res.status, 404, 'an admin id that is not a UUID is a 404');
  t.match(res.body, { statusCode: 404, code: 'not_found' });
  t.equal((await admin('DELETE', '/tenants/acme/scim-tokens/1')).status, 404, 'token ids too');
});

t.test('NUL in the URL: 400 in the API\'s body, before any SQL', async (t) => {
  const h = await testApp(t);
  const admin = await operator(h.app, h.database);
  for (const url of ['/scim/v2/ac%00me/Users', '/scim/v2/acme/Users/%00', '/scim/v2/acme/Users?filter=userName%20eq%20%22%00%22']) {
    const res = await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${h.scim.token}` } });
    t.equal(res.statusCode, 400, url);
    t.match(res.json(), { schemas: [ERROR_URN], status: '400', scimType: 'invalidValue' }, url);
  }
  for (const path of ['/tenants/ac%00me', '/tenants/acme/users?cursor=%00']) {
    const res = await admin('GET', path);
    t.equal(res.status, 400, path);
    t.match(res.body, { statusCode: 400, code: 'invalid_request' }, path);
  }
  const body = await admin('POST', '/tenants', '{"name":"a\\u0000b"}');
  t.equal(body.status, 400);
  t.match(body.body.message, /NUL/);
});

t.test('requests Node cannot parse (client errors) answer in the body of the API the request line names', async (t) => {
  const h = await testApp(t);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const scim = parseRaw(await rawRequest(port, 'GET /scim/v2/acme/Users HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n'));
  t.equal(scim.status, 400);
  t.match(scim.type, /^application\/scim\+json/);
  t.match(scim.body, { schemas: [ERROR_URN], status: '400', detail: String });

  const admin = parseRaw(await rawRequest(port, 'POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'));
  t.equal(admin.status, 400);
  t.match(admin.body, { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: String });

  const other = parseRaw(await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n'));
  t.equal(other.status, 400);
  t.match(other.body, { statusCode: 400, error: 'Bad Request' });
});
