#!/usr/bin/env node
// Runs the compiled CLI when it exists (npm run build, the container), else the TypeScript sources via tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/index.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/index.ts', import.meta.url).href);
}
const code = await cli.runCli(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
