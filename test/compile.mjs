#!/usr/bin/env node
// Compiles src/, test/ and action/ once into .test-build/ (tsc, incremental), so that the test processes
// run plain JavaScript. Under tsx every one of the ~160 test processes paid its loader hooks on each
// module it imported (measured on Node 20, whose hooks run off-thread: 0.45 s of CPU for `import 'tap'`
// alone and 0.85 s with the app, against 0.16 s and 0.36 s compiled).
//
// .test-build/ mirrors the repository's layout, so that a test's relative paths (`new URL('./cases.json',
// import.meta.url)`, `../../src/...`) mean in the copy what they mean in the source: the files tsc does not
// emit (fixtures, JSON cases, action/post-login.js and action/package.json) are linked in beside the
// compiled ones, and `dist/` (the built console) is linked at the top. Whatever was compiled from a
// TypeScript file that no longer exists is removed, or tap would run a deleted test.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, '.test-build');
const folders = ['src', 'test', 'action'];

// What tsc reads, by path, size and modification time: when none of it changed since tsc last succeeded, tsc
// is not run again. `npm test` compiles once per pass (so that each pass also runs on its own), and tsc's
// own incremental check of an unchanged tree still took 5.8 s of the test phase each time.
function inputsFingerprint() {
  const hash = createHash('sha256');
  const add = (file) => {
    const stat = statSync(file, { throwIfNoEntry: false });
    hash.update(`${path.relative(root, file)}\0${stat?.size ?? -1}\0${stat?.mtimeMs ?? -1}\n`);
  };
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules') continue;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else add(file);
    }
  };
  for (const folder of [...folders, 'bench']) if (existsSync(path.join(root, folder))) walk(path.join(root, folder));
  for (const file of ['tsconfig.json', 'tsconfig.tests.json', 'package-lock.json', 'node_modules/.package-lock.json']) add(path.join(root, file));
  return hash.digest('hex');
}

const stamp = path.join(out, '.inputs');
const inputs = inputsFingerprint();
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== inputs) {
  rmSync(stamp, { force: true });
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.tests.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // The fingerprint taken before tsc ran: a file changed while it ran makes the next run compile again.
  writeFileSync(stamp, inputs);
}

/** Points `at` (inside .test-build) to `target` (in the repository), unless it already does. */
function link(at, target) {
  const wanted = path.relative(path.dirname(at), target);
  const current = lstatSync(at, { throwIfNoEntry: false });
  if (current?.isSymbolicLink() && readlinkSync(at) === wanted) return;
  if (current) rmSync(at, { recursive: true, force: true });
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(wanted, at);
}

function linkResources(relative) {
  for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
    const name = path.join(relative, entry.name);
    if (entry.name === 'node_modules') continue;
    if (entry.isDirectory()) linkResources(name);
    else if (!entry.name.endsWith('.ts')) link(path.join(out, name), path.join(root, name));
  }
}

/** Removes what was compiled from, or linked to, a file that is gone. */
function prune(relative) {
  const dir = path.join(out, relative);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = path.join(relative, entry.name);
    if (entry.isDirectory()) {
      prune(name);
      continue;
    }
    const source = entry.isSymbolicLink() ? path.join(root, name) : path.join(root, name.replace(/\.js(\.map)?$/, '.ts'));
    if (!existsSync(source)) rmSync(path.join(out, name));
  }
}

for (const folder of folders) {
  linkResources(folder);
  if (existsSync(path.join(out, folder))) prune(folder);
}
link(path.join(out, 'dist'), path.join(root, 'dist'));

// The PGlite copies of the suites in test/pglite-suites.mjs, written afresh each time (a suite removed from the
// list must not run again from a wrapper left behind). A wrapper sets what a PGlite run needs before the suite's
// modules load: the backend, and the fuzz corpus's smaller size (600 requests, not 3,000: PGlite runs one
// statement at a time). V8's `--liftoff-only` cannot be set from here (`v8.setFlagsFromString` comes too late
// to change the WebAssembly tiers: 3.5 s of CPU for a small suite either way, 1.7 s with the flag on the command
// line): `npm run test:pglite` passes it to its test processes (package.json).
const { PGLITE_SUITES, NO_STORAGE } = await import('./pglite-suites.mjs');
const wrappers = path.join(out, 'with-pglite');
rmSync(wrappers, { recursive: true, force: true });
const compiledTests = (relative) => {
  const at = path.join(out, relative);
  if (!relative.endsWith('/')) return existsSync(at) ? [relative] : [];
  return readdirSync(at, { recursive: true })
    .map((name) => path.posix.join(relative, String(name).split(path.sep).join('/')))
    .filter((name) => name.endsWith('.test.js'))
    .sort();
};
for (const suite of PGLITE_SUITES.flatMap(compiledTests)) {
  if (NO_STORAGE.has(suite)) continue;
  const wrapper = path.join(wrappers, suite);
  mkdirSync(path.dirname(wrapper), { recursive: true });
  const target = path.relative(path.dirname(wrapper), path.join(out, suite)).split(path.sep).join('/');
  writeFileSync(wrapper, [
    `// Written by test/compile.mjs: ${suite} against in-memory PGlite.`,
    "process.env.TEST_DB = 'pglite';",
    "process.env.FUZZ_RUNS ??= '600';",
    `await import(${JSON.stringify(target)});`,
    '',
  ].join('\n'));
}
