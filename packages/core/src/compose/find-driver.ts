import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DomainConfig } from '../config';
import type { Driver } from './driver';
import { DriverNotInstalledError } from './driver-not-installed-error';

/** The three configuration choices a driver serves, and the variables that make them. */
export type DriverKind = 'transports' | 'caches' | 'persistence';

interface Offer {
  /** The adapter package and its driver's export. */
  readonly package: string;
  readonly exportName: string;
  /** Libraries the adapter needs beside it (its peer dependencies). */
  readonly libraries: readonly string[];
}

const MEMORY: Offer = { package: '@finaegis/memory', exportName: 'memoryDriver', libraries: [] };

/**
 * Which package serves each configured value. The values themselves are checked by `defineConfig`;
 * this table only says where their driver lives.
 */
const OFFERS: Record<DriverKind, { variable: string; byValue: Readonly<Record<string, Offer>> }> = {
  transports: {
    variable: 'QUEUE_CONNECTION',
    byValue: {
      memory: MEMORY,
      bullmq: { package: '@finaegis/bullmq', exportName: 'bullmqDriver', libraries: ['bullmq', 'ioredis'] },
      kafka: { package: '@finaegis/kafka', exportName: 'kafkaDriver', libraries: ['kafkajs'] },
    },
  },
  caches: {
    variable: 'CACHE_DRIVER',
    byValue: {
      memory: MEMORY,
      redis: { package: '@finaegis/keyv', exportName: 'keyvDriver', libraries: ['keyv', '@keyv/redis'] },
    },
  },
  persistence: {
    variable: 'EVENT_STORE',
    byValue: {
      memory: MEMORY,
      postgres: { package: '@finaegis/postgres', exportName: 'postgresDriver', libraries: ['pg'] },
    },
  },
};

/** The configured value of a kind. */
export function configuredValue(config: DomainConfig, kind: DriverKind): string {
  if (kind === 'transports') return config.queueConnection;
  if (kind === 'caches') return config.cacheDriver;
  return config.eventStore;
}

/** `pnpm add` unless the app was started by another package manager (its user agent says which). */
function installCommand(packages: readonly string[]): string {
  const agent = process.env.npm_config_user_agent ?? '';
  const add = agent.startsWith('npm/')
    ? 'npm install'
    : agent.startsWith('yarn/')
      ? 'yarn add'
      : agent.startsWith('bun/')
        ? 'bun add'
        : 'pnpm add';
  return `${add} ${packages.join(' ')}`;
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  const message = error instanceof Error ? error.message : '';
  return /Cannot find (package|module)|Failed to (load|resolve)/.test(message);
}

/** The ESM entry of an installed package, resolved from an application folder, if it is there. */
function entryFrom(base: string, name: string): string | undefined {
  let manifestPath: string;
  try {
    manifestPath = createRequire(join(base, 'noop.js')).resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports?: Record<string, unknown>;
    module?: string;
    main?: string;
  };
  const root = manifest.exports?.['.'] as
    | string
    | { import?: string | { default?: string }; default?: string }
    | undefined;
  const target =
    typeof root === 'string'
      ? root
      : typeof root?.import === 'string'
        ? root.import
        : (root?.import?.default ?? root?.default ?? manifest.module ?? manifest.main);
  return target === undefined ? undefined : pathToFileURL(join(dirname(manifestPath), target)).href;
}

/**
 * Imports an adapter package: from here first (a flat `node_modules`, or a package manager that
 * links it where this package can see it), then from the application's own folder (its entry
 * script's, then the working directory), where a pnpm workspace links it.
 */
async function importAdapter(name: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const bases: string[] = [];
    const entry = process.argv[1];
    if (entry !== undefined) {
      try {
        bases.push(dirname(realpathSync(entry)));
      } catch {
        // Not a file (a REPL, `node -e`): the working directory is left.
      }
    }
    bases.push(process.cwd());
    for (const base of bases) {
      const url = entryFrom(base, name);
      if (url !== undefined) return (await import(url)) as Record<string, unknown>;
    }
    throw error;
  }
}

/**
 * The driver serving the configured value of `kind`: one of `given` that offers it, else the
 * export of the package that serves it, imported by name.
 * @throws DriverNotInstalledError with the install command when that package (or a library it
 *   needs) is not installed, or is too old to offer a driver.
 */
export async function findDriver(
  config: DomainConfig,
  kind: DriverKind,
  given: readonly Driver[],
): Promise<Driver> {
  const value = configuredValue(config, kind);
  const explicit = given.find((driver) => driver[kind]?.[value] !== undefined);
  if (explicit !== undefined) return explicit;
  const { variable, byValue } = OFFERS[kind];
  const offer = byValue[value];
  if (offer === undefined) {
    // A value defineConfig allows but no package serves yet: only an explicit driver can.
    throw new DriverNotInstalledError(
      variable,
      value,
      ['a driver passed in `drivers`'],
      'composeCqrs({ drivers: [...] })',
    );
  }
  const packages = [offer.package, ...offer.libraries];
  let module: Record<string, unknown>;
  try {
    module = await importAdapter(offer.package);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new DriverNotInstalledError(variable, value, packages, installCommand(packages), { cause: error });
  }
  const driver = module[offer.exportName] as Driver | undefined;
  if (driver?.[kind]?.[value] === undefined) {
    throw new DriverNotInstalledError(
      variable,
      value,
      packages,
      installCommand(packages.map((p, i) => (i === 0 ? `${p}@latest` : p))),
      {
        detail: `the installed ${offer.package} has no ${offer.exportName}`,
      },
    );
  }
  return driver;
}
