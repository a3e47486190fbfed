import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Built into dist/console, next to the compiled server, which serves it under /console/ (src/http/console.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    // The CSP allows our own scripts only: no inlined module preload polyfill.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
