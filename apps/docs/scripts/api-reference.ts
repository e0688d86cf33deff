// The API reference: TypeDoc reads the TSDoc of every public entry point (from the sources, so it
// cannot drift from the code) and writes markdown pages under src/api/ for VitePress. Beside it, the
// checks that make the build fail: an export without TSDoc, an export missing from the reference,
// a broken {@link}, a type the reference refers to but no entry point exports.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Application, Converter, Logger, LogLevel, ReflectionKind } from 'typedoc';
import { exportedNames, undocumentedExports } from './tsdoc';
import { docsRoot, type EntryPoint, type Finding, pagesDir, repoRoot } from './workspace';

/** Where the generated reference goes (git-ignored); its pages are `/api/...`. */
export const apiDir = join(pagesDir, 'api');

/** TypeDoc's warnings and errors, kept as findings instead of only printed. */
class CollectingLogger extends Logger {
  readonly messages: string[] = [];
  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.messages.push(message);
  }
}

/** TypeDoc's default module name of an entry file (`core/src/adapter`), as it names them. */
function typedocModuleName(file: string): string {
  return relative(join(repoRoot, 'packages'), file)
    .split('\\')
    .join('/')
    .replace(/\.ts$/, '')
    .replace(/\/index$/, '');
}

/**
 * Generates the reference of `entries` into src/api/ and returns what the checks found. Every
 * finding fails the build; each names the export or link that is wrong.
 */
export async function buildApiReference(
  entries: readonly EntryPoint[],
): Promise<{ findings: Finding[]; exports: number }> {
  const findings: Finding[] = [];
  const names = exportedNames(entries);
  findings.push(...undocumentedExports(names));

  rmSync(apiDir, { recursive: true, force: true });
  const app = await Application.bootstrapWithPlugins({
    name: 'API reference',
    entryPoints: entries.map((e) => e.file),
    tsconfig: join(docsRoot, 'tsconfig.typedoc.json'),
    plugin: ['typedoc-plugin-markdown', 'typedoc-vitepress-theme'],
    out: apiDir,
    docsRoot: pagesDir,
    readme: 'none',
    entryFileName: 'index',
    excludeInternal: true,
    excludePrivate: true,
    skipErrorChecking: true,
    sort: ['kind', 'alphabetical'],
    // Sources are tracked (the TSDoc check names file and line) but not linked: the site links no
    // hosted repository, and a revision of "HEAD" makes TypeDoc skip the git remote lookup, which
    // warns in clones without a usable `origin`.
    disableSources: false,
    gitRevision: 'HEAD',
    sourceLinkTemplate: '',
    validation: { notExported: true, invalidLink: true, notDocumented: false },
    logLevel: 'Warn',
    // typedoc-plugin-markdown
    hidePageHeader: true,
    hideBreadcrumbs: false,
    useCodeBlocks: true,
    parametersFormat: 'table',
    interfacePropertiesFormat: 'table',
    classPropertiesFormat: 'table',
    typeDeclarationFormat: 'table',
    indexFormat: 'table',
    // typedoc-vitepress-theme
    sidebar: { autoConfiguration: true, format: 'vitepress', pretty: true, collapsed: true },
  } as Record<string, unknown>);
  const logger = new CollectingLogger();
  logger.level = LogLevel.Warn;
  app.logger = logger;

  const specifierOf = new Map(entries.map((e) => [typedocModuleName(e.file), e.specifier]));
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const specifier = specifierOf.get(reflection.name);
    if (specifier !== undefined) reflection.name = specifier;
  });

  const project = await app.convert();
  if (project === undefined) {
    findings.push({
      where: 'apps/docs/scripts/api-reference.ts',
      message: 'TypeDoc could not convert the sources',
    });
    return { findings, exports: names.length };
  }
  app.validate(project);

  // Every exported name has its own entry in its module's reference.
  const modules = new Map<string, Set<string>>();
  const single = entries.length === 1 ? entries[0]?.specifier : undefined;
  for (const child of project.children ?? []) {
    if (child.kindOf(ReflectionKind.Module))
      modules.set(child.name, new Set((child.children ?? []).map((c) => c.name)));
  }
  if (single !== undefined) modules.set(single, new Set((project.children ?? []).map((c) => c.name)));
  for (const name of names) {
    if (!modules.get(name.specifier)?.has(name.name)) {
      findings.push({
        where: name.where,
        message: `${name.specifier} exports ${name.name}, but the API reference has no entry for it`,
      });
    }
  }

  await app.generateOutputs(project);
  writeFileSync(join(apiDir, 'index.md'), apiIndexPage(entries, names.length));
  for (const message of logger.messages) findings.push({ where: 'TypeDoc', message });
  return { findings, exports: names.length };
}

/** What an entry point is for: its package's description, or the opening comment of a subpath. */
export function describeEntry(entry: EntryPoint): string {
  if (entry.specifier === entry.packageName) {
    const manifest = JSON.parse(readFileSync(join(entry.file, '../../package.json'), 'utf8')) as {
      description?: string;
    };
    return manifest.description ?? '';
  }
  const opening = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(entry.file, 'utf8').trimStart())?.[1] ?? '';
  const text = opening
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, '').trim())
    .join(' ')
    .trim();
  const rest = text.replace(/^`[^`]+`:\s*/, '');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

/** The reference's first page: every entry point, what it is for, and how many names it exports. */
function apiIndexPage(entries: readonly EntryPoint[], exports: number): string {
  const rows = entries.map(
    (e) => `| [\`${e.specifier}\`](./${e.specifier}/index.md) | ${describeEntry(e).replace(/\|/g, '\\|')} |`,
  );
  return [
    '# API reference',
    '',
    `Generated by TypeDoc from the TSDoc of the packages' sources on every build of this site: ${exports}`,
    `exports of ${entries.length} entry points, each documented (the build fails on an export without`,
    'TSDoc). Subpaths are entry points of their own: `@finaegis/core/adapter` is the kit for adapter',
    'authors; the `/testing` subpaths hold hooks for tests.',
    '',
    '| entry point | what it is |',
    '| --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
