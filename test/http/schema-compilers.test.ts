import Fastify, { type FastifyInstance } from 'fastify';
import t from 'tap';
import { sharedSchemaCompilers } from '../../src/http/schema-compilers.js';

/** A route as ours are declared: its schemas are new objects for every instance. */
function server(customOptions: Record<string, unknown> = { removeAdditional: false }): FastifyInstance {
  const app = Fastify({ ajv: { customOptions }, schemaController: { compilersFactory: sharedSchemaCompilers } });
  app.post('/things', {
    schema: {
      body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
      response: { 200: { type: 'object', properties: { name: { type: 'string' } } } },
    },
  }, async (request) => ({ ...(request.body as object), secret: 'not in the response schema' }));
  return app;
}

t.test('every instance validates and serialises by the schema, though each schema is compiled once', async (t) => {
  const apps = [server(), server(), server()];
  for (const [i, app] of apps.entries()) {
    t.teardown(() => app.close());
    const ok = await app.inject({ method: 'POST', url: '/things', payload: { name: 'ada' } });
    t.equal(ok.statusCode, 200, `app ${i}: a valid body`);
    t.same(ok.json(), { name: 'ada' }, `app ${i}: only what the response schema names`);
    const unknown = await app.inject({ method: 'POST', url: '/things', payload: { name: 'ada', typo: 1 } });
    t.equal(unknown.statusCode, 400, `app ${i}: an unknown property is refused`);
    t.match(unknown.json().message, /must NOT have additional properties/, `app ${i}: ajv's own message`);
    const missing = await app.inject({ method: 'POST', url: '/things', payload: {} });
    t.equal(missing.statusCode, 400, `app ${i}: a missing property is refused`);
    t.match(missing.json().message, /must have required property 'name'/, `app ${i}: and named`);
  }
});

t.test('the same schema under other compiler options is compiled for them', async (t) => {
  const strict = server({ removeAdditional: false });
  const lenient = server({ removeAdditional: 'all' });
  t.teardown(() => Promise.all([strict.close(), lenient.close()]));
  const body = { name: 'ada', typo: 1 };
  t.equal((await strict.inject({ method: 'POST', url: '/things', payload: body })).statusCode, 400, 'removeAdditional: false refuses');
  const dropped = await lenient.inject({ method: 'POST', url: '/things', payload: body });
  t.equal(dropped.statusCode, 200, "removeAdditional: 'all' drops the property instead");
  t.same(dropped.json(), { name: 'ada' });
});

t.test('a structurally equal schema gets the compiled function; another schema its own', async (t) => {
  const options = { customOptions: { removeAdditional: false } };
  const first = sharedSchemaCompilers.buildValidator!({}, options);
  const second = sharedSchemaCompilers.buildValidator!({}, options);
  const schema = () => ({ type: 'object', properties: { a: { type: 'integer' } } });
  const route = (s: object) => ({ schema: s, method: 'GET', url: '/', httpPart: 'querystring' }) as never;
  const a = first(route(schema()));
  t.equal(second(route(schema())), a, 'compiled once');
  t.not(second(route({ type: 'object', properties: { a: { type: 'string' } } })), a, 'another schema');
  t.not(sharedSchemaCompilers.buildValidator!({}, { customOptions: { removeAdditional: true } })(route(schema())), a, 'other options');
});
