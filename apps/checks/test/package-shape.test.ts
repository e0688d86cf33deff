// Every package under packages/ has the agreed shape (STYLE.md "What we copy", DESIGN.md "Layout"),
// so that the next adapter cannot drift. Each test is one rule; a failure lists every package that
// breaks it and how, e.g. `kafka: src/kafka-transport.ts has 1012 lines (at most 400)`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const packagesDir = join(root, 'packages');

/**
 * The adapter packages and the ports each implements. Each port needs `src/<adapter>-<port>.ts`
 * and a run of its contract in `test/contract.test.ts`. A new package must be added here or to
 * NOT_ADAPTERS, or the first test fails: the shape of an adapter is not optional.
 */
const ADAPTER_PORTS: Readonly<Record<string, readonly Port[]>> = {
  memory: ['transport', 'cache-store', 'event-store', 'transaction-manager', 'checkpoint-store'],
  bullmq: ['transport'],
  kafka: ['transport'],
  keyv: ['cache-store'],
  postgres: ['event-store', 'transaction-manager', 'checkpoint-store'],
};
const NOT_ADAPTERS = ['core', 'contract-tests', 'testing', 'opentelemetry'];

type Port = 'transport' | 'cache-store' | 'event-store' | 'transaction-manager' | 'checkpoint-store';

/** The contract function of each port, as `@finaegis/contract-tests` exports it. */
const CONTRACT_OF: Readonly<Record<Port, string>> = {
  transport: 'transportContract',
  'cache-store': 'cacheStoreContract',
  'event-store': 'eventStoreContract',
  'transaction-manager': 'transactionManagerContract',
  'checkpoint-store': 'checkpointStoreContract',
};

/** README sections of an adapter package: `## <one of the names>` (a heading may go on after it). */
const ADAPTER_README_SECTIONS: ReadonlyArray<readonly string[]> = [
  ['Install'],
  ['Example'],
  ['Options'],
  ['Features', 'Guarantees'],
  ['Errors'],
  ['Testing'],
];

const MAX_SRC_LINES = 400;
/** src files allowed over MAX_SRC_LINES, each with the reason. Keep it empty. */
const LONG_FILE_EXEMPTIONS: Readonly<Record<string, string>> = {};

/** Entries of `files` besides `dist`, each with the reason. */
const EXTRA_PUBLISHED_FILES: Readonly<Record<string, readonly string[]>> = {
  // The SQL migrations are read at run time by migrate() (DEFAULT_MIGRATIONS_DIR), next to dist/.
  postgres: ['migrations'],
};

const packages = readdirSync(packagesDir)
  .filter((name) => existsSync(join(packagesDir, name, 'package.json')))
  .sort();
const adapters = packages.filter((name) => name in ADAPTER_PORTS);

const dirOf = (name: string) => join(packagesDir, name);
const read = (name: string, file: string) => readFileSync(join(dirOf(name), file), 'utf8');
const has = (name: string, file: string) => existsSync(join(dirOf(name), file));

function sourceFiles(name: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return walk(path);
      return /\.(ts|tsx|mts|cts)$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
    });
  const src = join(dirOf(name), 'src');
  return existsSync(src) ? walk(src).map((path) => relative(dirOf(name), path)) : [];
}

/** Runs `check` on each package; the violations it returns, prefixed with the package name. */
function violations(names: readonly string[], check: (name: string) => string[]): string[] {
  return names.flatMap((name) => check(name).map((problem) => `${name}: ${problem}`));
}

interface PackageJson {
  exports?: Record<string, unknown>;
  files?: unknown;
  sideEffects?: unknown;
  engines?: { node?: string };
  scripts?: Record<string, string>;
}

describe('package shape', () => {
  test('every package is either an adapter (with its ports listed here) or named as not one', () => {
    const unknown = packages.filter((name) => !(name in ADAPTER_PORTS) && !NOT_ADAPTERS.includes(name));
    expect(unknown.map((name) => `${name}: add it to ADAPTER_PORTS or NOT_ADAPTERS`)).toEqual([]);
  });

  test('every package has src/index.ts, README.md, tsconfig.json extending the root, and tsup.config.ts', () => {
    const found = violations(packages, (name) => {
      const problems = ['src/index.ts', 'README.md', 'tsconfig.json', 'tsup.config.ts']
        .filter((file) => !has(name, file))
        .map((file) => `has no ${file}`);
      if (has(name, 'tsconfig.json')) {
        const { config, error } = ts.readConfigFile(join(dirOf(name), 'tsconfig.json'), ts.sys.readFile);
        const extended =
          typeof config?.extends === 'string' ? resolve(dirOf(name), config.extends) : undefined;
        if (error || extended !== join(root, 'tsconfig.json')) {
          problems.push(`tsconfig.json extends ${String(config?.extends)}, not the root tsconfig.json`);
        }
      }
      return problems;
    });
    expect(found).toEqual([]);
  });

  test('adapter READMEs have the sections Install, Example, Options, Features or Guarantees, Errors, Testing', () => {
    const found = violations(adapters, (name) => {
      const headings = read(name, 'README.md')
        .split('\n')
        .filter((line) => /^##\s/.test(line))
        .map((line) => line.replace(/^##\s+/, ''));
      return ADAPTER_README_SECTIONS.filter(
        (names) => !headings.some((heading) => names.some((section) => heading.startsWith(section))),
      ).map((names) => `README.md has no "## ${names.join('" or "## ')}" section`);
    });
    expect(found).toEqual([]);
  });

  test('package.json: exports ESM + CJS with types for every entry, files ["dist"], sideEffects false, engines, test:unit', () => {
    const found = violations(packages, (name) => {
      const pkg = JSON.parse(read(name, 'package.json')) as PackageJson;
      const problems: string[] = [];
      const entries = Object.entries(pkg.exports ?? {}).filter(([entry]) => entry !== './package.json');
      if (entries.length === 0) problems.push('package.json has no exports');
      for (const [entry, target] of entries) {
        for (const condition of ['import', 'require'] as const) {
          const branch = (target as Record<string, { types?: string; default?: string } | undefined>)[
            condition
          ];
          if (typeof branch?.types !== 'string' || typeof branch.default !== 'string') {
            problems.push(`exports["${entry}"].${condition} needs its own types and default`);
          }
        }
      }
      const files = ['dist', ...(EXTRA_PUBLISHED_FILES[name] ?? [])];
      if (JSON.stringify(pkg.files) !== JSON.stringify(files)) {
        problems.push(`files is ${JSON.stringify(pkg.files)}, not ${JSON.stringify(files)}`);
      }
      if (pkg.sideEffects !== false) problems.push(`sideEffects is ${String(pkg.sideEffects)}, not false`);
      if (typeof pkg.engines?.node !== 'string') problems.push('package.json has no engines.node');
      if (typeof pkg.scripts?.['test:unit'] !== 'string')
        problems.push('package.json has no test:unit script');
      return problems;
    });
    expect(found).toEqual([]);
  });

  test('adapters have test/helpers.ts and test/contract.test.ts, which runs the contract of each port', () => {
    const found = violations(adapters, (name) => {
      const problems = ['test/helpers.ts', 'test/contract.test.ts']
        .filter((file) => !has(name, file))
        .map((file) => `has no ${file}`);
      if (!has(name, 'test/contract.test.ts')) return problems;
      const contractTest = read(name, 'test/contract.test.ts');
      for (const port of ADAPTER_PORTS[name] ?? []) {
        if (!new RegExp(`\\b${CONTRACT_OF[port]}\\b`).test(contractTest)) {
          problems.push(`test/contract.test.ts does not run ${CONTRACT_OF[port]}`);
        }
      }
      return problems;
    });
    expect(found).toEqual([]);
  });

  test('adapter src files are named <adapter>-<port>.ts for each port they implement', () => {
    const found = violations(adapters, (name) =>
      (ADAPTER_PORTS[name] ?? [])
        .map((port) => `src/${name}-${port}.ts`)
        .filter((file) => !has(name, file))
        .map((file) => `has no ${file}`),
    );
    expect(found).toEqual([]);
  });

  test(`no src file is over ${MAX_SRC_LINES} lines`, () => {
    const found = violations(packages, (name) =>
      sourceFiles(name).flatMap((file) => {
        const lines = read(name, file).split('\n').length;
        const exempt = `${name}/${file}` in LONG_FILE_EXEMPTIONS;
        return lines > MAX_SRC_LINES && !exempt
          ? [`${file} has ${lines} lines (at most ${MAX_SRC_LINES})`]
          : [];
      }),
    );
    expect(found).toEqual([]);
  });

  test('no package src throws a bare Error (typed errors only, DESIGN.md "Errors")', () => {
    const found = violations(packages, (name) =>
      sourceFiles(name).flatMap((file) =>
        read(name, file)
          .split('\n')
          .flatMap((line, index) =>
            line.includes('throw new Error(') ? [`${file}:${index + 1} throws new Error(`] : [],
          ),
      ),
    );
    expect(found).toEqual([]);
  });

  test('every adapter constructs through create* functions: its entry exports no classes but errors', () => {
    const values = publicValues(adapters.map((name) => join(dirOf(name), 'src/index.ts')));
    const found = violations(adapters, (name) => {
      const { classes, factories } = values.get(join(dirOf(name), 'src/index.ts'))!;
      const problems = classes.map(
        (cls) => `src/index.ts exports the class ${cls}; export a create* function instead`,
      );
      if (factories.length === 0) problems.push('src/index.ts exports no create* function');
      return problems;
    });
    expect(found).toEqual([]);
  });
});

/** Per entry file: the classes (other than errors) and the `create*` functions it exports, re-exports followed. */
function publicValues(entries: readonly string[]): Map<string, { classes: string[]; factories: string[] }> {
  // One program for every entry: the adapters share core, so it is read once.
  const program = ts.createProgram(entries, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    noEmit: true,
    baseUrl: root,
    paths: { '@finaegis/*': [`${packagesDir}/*/src/index.ts`] },
  });
  const checker = program.getTypeChecker();
  const result = new Map<string, { classes: string[]; factories: string[] }>();
  for (const entry of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const classes: string[] = [];
    const factories: string[] = [];
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = exported.getName();
      // A class exported as a type only (`export { type X }`) cannot be constructed by users: fine.
      const typeOnly = exported.declarations?.some(
        (d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly),
      );
      if (symbol.flags & ts.SymbolFlags.Class && !typeOnly && !isErrorClass(checker, symbol))
        classes.push(name);
      if (symbol.flags & ts.SymbolFlags.Function && name.startsWith('create')) factories.push(name);
    }
    result.set(entry, { classes: classes.sort(), factories: factories.sort() });
  }
  return result;
}

function isErrorClass(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  let type: ts.Type | undefined = checker.getDeclaredTypeOfSymbol(symbol);
  while (type) {
    if (type.getSymbol()?.getName() === 'Error') return true;
    const bases: ts.Type[] = type.isClassOrInterface() ? checker.getBaseTypes(type) : [];
    type = bases[0];
  }
  return symbol.getName().endsWith('Error');
}
