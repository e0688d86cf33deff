// A consumer project outside the workspace: the packed @finaegis packages installed with plain npm
// into a temporary folder, with the consumer app of ../consumer beside them. What users get from
// the registry must work on its own, not only inside this monorepo.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../../..');

export const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A third-party library at the exact version the workspace tests the adapters with. */
function pinned(library: string): string {
  for (const name of ['bullmq', 'kafka', 'keyv', 'postgres']) {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as {
      devDependencies?: Record<string, string>;
    };
    const version = manifest.devDependencies?.[library];
    if (version !== undefined) return `${library}@${version}`;
  }
  throw new RangeError(`no adapter of the workspace pins ${library}`);
}

/**
 * Packs `packages` (folder names under packages/), installs the tarballs and `libraries` (at the
 * workspace's versions; from npm's cache when it has them) into a new folder, and copies the
 * consumer app there. Returns the folder; remove it with `removeConsumer`.
 */
export function installConsumer(packages: readonly string[], libraries: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'finaegis-consumer-'));
  const tarballs = join(dir, 'tarballs');
  for (const name of packages) {
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name));
  }
  const files = readdirSync(tarballs).map((file) => join(tarballs, file));
  if (files.length !== packages.length) throw new RangeError(`packed ${files.length} of ${packages.length}`);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  const source = libraries.length === 0 ? ['--offline'] : ['--prefer-offline'];
  run(
    'npm',
    ['install', ...source, '--no-audit', '--no-fund', '--loglevel=error', ...files, ...libraries.map(pinned)],
    dir,
  );
  cpSync(resolve(import.meta.dirname, '../consumer'), dir, { recursive: true });
  return dir;
}

export function removeConsumer(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The environment of a consumer script: only what is given, plus PATH (and no package manager's agent). */
export function consumerEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...vars };
}

/** Runs `node <script>` in the consumer folder; resolves its exit code and output. */
export function runScript(
  dir: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [script], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}
