import { defineConfig, type Options } from 'tsup';

/**
 * The build every published package shares: ESM and CJS with their own type declarations, for
 * Node 20, from `src/index.ts`, with the package's `tsconfig.build.json` (no workspace path
 * aliases, so the declarations import sibling packages by name). `overrides` adds entries or shims.
 */
export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
