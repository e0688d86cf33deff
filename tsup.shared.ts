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
    // Declarations marked @internal are not part of the published types.
    dts: { compilerOptions: { stripInternal: true } },
    clean: true,
    sourcemap: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
