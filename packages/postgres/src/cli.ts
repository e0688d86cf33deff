import { parseArgs } from 'node:util';
import { DEFAULT_SCHEMA } from './connection';
import { migrate } from './migrate';

const USAGE = `usage: finaegis-postgres migrate [--url <postgres url>] [--schema <name>]

  --url     connection string (default: $DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test)
  --schema  schema to create and migrate (default: ${DEFAULT_SCHEMA})`;

/**
 * The `finaegis-postgres` command. Returns the exit code; output goes through `out` / `err` so the
 * command can be tested in-process.
 * @internal
 */
export async function runCli(
  argv: readonly string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'migrate') {
    err(USAGE);
    return 2;
  }
  try {
    const result = await migrate({
      ...(values.url === undefined ? {} : { connectionString: values.url }),
      ...(values.schema === undefined ? {} : { schema: values.schema }),
    });
    out(
      result.applied.length === 0
        ? `schema ${result.schema} is up to date`
        : `schema ${result.schema}: applied ${result.applied.join(', ')}`,
    );
    return 0;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    err(`${(error as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      schema: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
