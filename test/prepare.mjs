#!/usr/bin/env node
// What `npm test` builds before the suites run, three independent steps at once: the console (Vite), the
// console's typecheck, and the tests' compile (test/compile.mjs). One after another they kept one core of two
// busy for their whole time; each step's output is printed when it ends, and any failure fails the whole.
// `tap build` runs before this, on its own: it rewrites tap's type declarations, which the two tsc runs read.
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name) => path.join(root, 'node_modules', name);
const steps = [
  { name: 'console build', args: [bin('vite/bin/vite.js'), 'build', 'console', '--logLevel', 'warn'] },
  { name: 'console typecheck', args: [bin('typescript/bin/tsc'), '-p', 'console/tsconfig.json'] },
  { name: 'tests compile', args: [path.join(root, 'test/compile.mjs')] },
];

const results = await Promise.all(steps.map(({ name, args }) => new Promise((resolve) => {
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  child.on('error', (err) => output.push(Buffer.from(`${err.message}\n`)));
  child.on('close', (code, signal) => {
    process.stdout.write(Buffer.concat(output));
    const ok = code === 0;
    if (!ok) console.error(`prepare: ${name} failed (${signal ?? `exit ${code}`})`);
    resolve({ name, ok, seconds: (Date.now() - started) / 1000 });
  });
})));

console.log(`prepare: ${results.map((r) => `${r.name} ${r.seconds.toFixed(1)} s`).join(', ')}`);
if (results.some((r) => !r.ok)) process.exit(1);
