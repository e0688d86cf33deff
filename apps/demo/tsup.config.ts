import { defineConfig } from 'tsup';

// The demo is an application: one ESM bundle of its own code. The @finaegis/* workspace packages
// and third-party libraries stay external (they are dependencies, built before the demo by turbo).
export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: false,
  clean: true,
  sourcemap: true,
  splitting: false,
  external: [/^@finaegis\//],
  banner: { js: '#!/usr/bin/env node' },
});
