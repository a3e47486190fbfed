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
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, '.test-build');
const folders = ['src', 'test', 'action'];

const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.tests.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

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
