import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/paths.js';

/*
 * Storage knows no protocol (STYLE.md, "The house"): `src/scim` may import `src/db`, never the reverse,
 * directly or through another module. Type-only and dynamic imports count too.
 */

// The sources themselves, also when the tests run compiled.
const root = REPO_ROOT;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The files `file` imports by relative path (`./x.js` is `./x.ts` in the source tree). */
function relativeImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const target = path.resolve(path.dirname(file), spec);
      const candidates = [target.replace(/\.js$/, '.ts'), `${target}.ts`, path.join(target, 'index.ts')];
      return candidates.find((c) => existsSync(c)) ?? target;
    });
}

const inside = (dir: string, file: string) => !path.relative(dir, file).startsWith('..');

/** For each file under `from` that reaches a file under `forbidden`, the import chain that does, as paths from `base`. */
function violations(from: string, forbidden: string, base: string): string[] {
  const show = (file: string) => path.relative(base, file);
  const found: string[] = [];
  for (const start of sourceFiles(from)) {
    // Breadth first, so the chain reported is a shortest one.
    const via = new Map<string, string | undefined>([[start, undefined]]);
    const queue = [start];
    let hit: string | undefined;
    while (queue.length > 0 && !hit) {
      const file = queue.shift()!;
      for (const next of relativeImports(file)) {
        if (via.has(next)) continue;
        via.set(next, file);
        if (inside(forbidden, next)) {
          hit = next;
          break;
        }
        if (existsSync(next) && next.endsWith('.ts')) queue.push(next);
      }
    }
    if (!hit) continue;
    const chain: string[] = [];
    for (let at: string | undefined = hit; at; at = via.get(at)) chain.unshift(show(at));
    found.push(chain.length === 2 ? `${chain[0]} imports ${chain[1]}` : `${chain[0]} reaches ${chain.at(-1)} through ${chain.slice(1, -1).join(' → ')}`);
  }
  return found;
}

t.test('no module under src/db imports src/scim, directly or through another module', async (t) => {
  const found = violations(path.join(root, 'src/db'), path.join(root, 'src/scim'), root);
  t.same(found, [], found.length > 0 ? `storage must not know the protocol:\n${found.join('\n')}` : 'src/db is free of src/scim');
});

t.test('the check sees direct, type-only, dynamic, nested and indirect imports', async (t) => {
  const dir = t.testdir({
    src: {
      db: {
        'clean.ts': "import { sql } from 'kysely';\nimport type { Row } from './schema.js';\n// import { x } from '../scim/x.js' (a comment is no import)\n",
        'schema.ts': 'export interface Row { id: string }\n',
        'direct.ts': "import { ScimError } from '../scim/errors.js';\n",
        'types.ts': "import type { ScimResourceType } from '../scim/schemas/types.js';\n",
        'lazy.ts': "export const load = () => import('../scim/registry.js');\n",
        migrations: { '0001-x.ts': "export * from '../../scim/urn.js';\n" },
        'indirect.ts': "import { f } from '../http/helper.js';\n",
      },
      http: { 'helper.ts': "import { ScimError } from '../scim/errors.js';\nexport const f = 1;\n" },
      scim: { 'errors.ts': '', 'registry.ts': '', 'urn.ts': '', schemas: { 'types.ts': '' } },
    },
  });
  const found = violations(path.join(dir, 'src/db'), path.join(dir, 'src/scim'), dir).sort();
  t.same(found, [
    'src/db/direct.ts imports src/scim/errors.ts',
    'src/db/indirect.ts reaches src/scim/errors.ts through src/http/helper.ts',
    'src/db/lazy.ts imports src/scim/registry.ts',
    'src/db/migrations/0001-x.ts imports src/scim/urn.ts',
    'src/db/types.ts imports src/scim/schemas/types.ts',
  ].map((line) => line.split('/').join(path.sep)));
});
