// Where the docs build finds the workspace: the repository root, the published packages and the
// source file behind each entry point (`@finaegis/core`, `@finaegis/core/adapter`, ...).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The repository root. */
export const repoRoot = resolve(import.meta.dirname, '../../..');
/** `apps/docs`. */
export const docsRoot = resolve(import.meta.dirname, '..');
/** The pages (VitePress `srcDir`). */
export const pagesDir = join(docsRoot, 'src');
/** Example files that pages include with `<<< @/../examples/...`. */
export const examplesDir = join(docsRoot, 'examples');
/** Scratch space of the build (git-ignored). */
export const cacheDir = join(docsRoot, '.cache');

/** One public entry point: an import specifier and the source file it is built from. */
export interface EntryPoint {
  /** What users import, e.g. `@finaegis/core/adapter`. */
  readonly specifier: string;
  /** The package's name, e.g. `@finaegis/core`. */
  readonly packageName: string;
  /** Absolute path of the source file. */
  readonly file: string;
}

/** A problem one of the checks found; `where` is a repository-relative location. */
export interface Finding {
  readonly where: string;
  readonly message: string;
}

/** `path` relative to the repository root, with forward slashes. */
export function fromRoot(path: string): string {
  return relative(repoRoot, path).split('\\').join('/');
}

/**
 * Every entry point of every published package under `packages/`: each key of a package.json
 * `exports` map (but `./package.json`), resolved to its source through the root tsconfig's
 * `paths`, which the tests and the type check use too. A published entry point without a `paths`
 * entry is a finding: the reference could not cover it.
 */
export function publicEntryPoints(root = repoRoot): { entries: EntryPoint[]; findings: Finding[] } {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const paths = (config.config?.compilerOptions?.paths ?? {}) as Record<string, string[]>;
  const entries: EntryPoint[] = [];
  const findings: Finding[] = [];
  const packagesDir = join(root, 'packages');
  for (const dir of readdirSync(packagesDir).sort()) {
    const manifestPath = join(packagesDir, dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      name: string;
      private?: boolean;
      exports?: Record<string, unknown>;
    };
    if (manifest.private === true) continue;
    for (const key of Object.keys(manifest.exports ?? { '.': {} })) {
      if (key === './package.json') continue;
      const specifier = key === '.' ? manifest.name : `${manifest.name}/${key.replace(/^\.\//, '')}`;
      const target = paths[specifier]?.[0];
      if (target === undefined) {
        findings.push({
          where: `packages/${dir}/package.json`,
          message: `the entry point ${specifier} has no entry in the root tsconfig.json "paths", so the API reference cannot find its source`,
        });
        continue;
      }
      entries.push({ specifier, packageName: manifest.name, file: resolve(root, target) });
    }
  }
  return { entries, findings };
}
