import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { LRUCache } from 'lru-cache';

/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for responses), each distinct route
 * schema compiled once per process instead of once per Fastify instance.
 *
 * Fastify builds a fresh pair of compilers for every instance, and our routes declare their schemas inline,
 * so every `buildApp` and every Auth0 emulator compiled all of them again: half of a `buildApp`'s 124 ms, and about a
 * fifth of the CPU of a test file that builds dozens of apps (ajv and fast-json-stringify were 13 % of
 * admin/user-actions' profile). A server process builds one app and at most one emulator, so nothing changes
 * there. A compiled validator or serializer is a pure function of its schema and of the compiler's options,
 * which is what the key holds; ajv's `errors` is read right after each synchronous call, as it is when one
 * instance's routes share a validator. No schema carries an `$id` and no instance adds shared schemas, so one
 * ajv per option set (the ajv compiler's own pool) holds no conflicting ids. The schemas come from the
 * source, not from requests; the bound only keeps a mistake from growing the caches without end.
 */
const MAX_SCHEMAS = 5_000;

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;

/**
 * Wraps a compiler factory so that a route's compiled function is looked up by the factory's arguments and
 * the route's schema, and compiled only when missing.
 */
function compiledOnce<Args extends unknown[], Route extends { schema?: unknown }, Compiled>(
  factory: (...args: Args) => (route: Route) => Compiled,
): (...args: Args) => (route: Route) => Compiled {
  const compiled = new LRUCache<string, { fn: Compiled }>({ max: MAX_SCHEMAS });
  return (...args) => {
    const compile = factory(...args);
    const compilerKey = JSON.stringify(args);
    return (route) => {
      const key = `${compilerKey}\n${JSON.stringify(route.schema)}`;
      let entry = compiled.get(key);
      if (!entry) {
        entry = { fn: compile(route) };
        compiled.set(key, entry);
      }
      return entry.fn;
    };
  };
}

const buildValidator: ValidatorFactory = compiledOnce(AjvCompiler());
const buildSerializer: SerializerFactory = compiledOnce(SerializerSelector());

/** For `Fastify({ schemaController: { compilersFactory } })`. */
export const sharedSchemaCompilers: CompilersFactory = { buildValidator, buildSerializer };
