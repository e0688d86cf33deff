// What a clean `pnpm install` of the workspace relies on: every command a package installs points
// at a committed file (not at dist/, which does not exist before the first build, and which pnpm
// then warns about), and the one dependency with an install script is decided on, not left to
// pnpm's "ignored build scripts" box.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const committed = new Set(
  execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean),
);

describe('a clean install', () => {
  test('every bin of a package points at a committed, executable file', () => {
    const bins: string[] = [];
    for (const name of readdirSync(join(root, 'packages'))) {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as {
        bin?: string | Record<string, string>;
      };
      const targets = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
      for (const target of targets) {
        const file = normalize(join('packages', name, target));
        bins.push(file);
        expect(committed.has(file), `${file} (bin of packages/${name}) is not committed`).toBe(true);
        expect(statSync(join(root, file)).mode & 0o111, `${file} is not executable`).not.toBe(0);
      }
    }
    expect(bins).toContain(normalize('packages/postgres/bin/finaegis-postgres.mjs'));
  });

  test('msgpackr-extract, the one dependency with an install script, is decided on', () => {
    const { pnpm } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      pnpm: { onlyBuiltDependencies?: string[]; ignoredBuiltDependencies?: string[] };
    };
    expect([...(pnpm.onlyBuiltDependencies ?? []), ...(pnpm.ignoredBuiltDependencies ?? [])]).toContain(
      'msgpackr-extract',
    );
  });
});
