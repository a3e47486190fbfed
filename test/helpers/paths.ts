import path from 'node:path';

/**
 * Where this test runs from: the repository, or the compiled copy of it that `npm test` runs
 * (`.test-build/`, made by test/compile.mjs with the same layout, its fixtures linked in).
 */
export const RUN_ROOT = path.resolve(import.meta.dirname, '../..');

/** True when the tests run compiled (`.test-build/`), false under tsx from the sources. */
const COMPILED = path.basename(RUN_ROOT) === '.test-build';

/** The repository itself: the TypeScript sources, and `../shared` beside the checkout. */
export const REPO_ROOT = COMPILED ? path.dirname(RUN_ROOT) : RUN_ROOT;

/**
 * Node's arguments to run the CLI as this test runs (prepend them to the command's own; `cwd: RUN_ROOT`):
 * the compiled JavaScript with no loader, or the sources under tsx.
 */
export const CLI_ARGS: readonly string[] = COMPILED ? ['src/cli/index.js'] : ['--import', 'tsx', 'src/cli/index.ts'];
