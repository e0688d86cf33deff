import { FinAegisError } from '../errors/finaegis-error';

/**
 * The configuration names an adapter whose package is not installed (or is too old to offer a
 * driver). Its own class, not a `ConfigError`: the value is allowed, the installation is what is
 * missing, and the message carries the command that fixes it. Thrown at start-up by `composeCqrs()`.
 */
export class DriverNotInstalledError extends FinAegisError {
  readonly code = 'DRIVER_NOT_INSTALLED';
  override readonly retryable = false;
  /** The variable that chose the adapter, e.g. `QUEUE_CONNECTION`. */
  readonly variable: string;
  /** Its value, e.g. `kafka`. */
  readonly value: string;
  /** The packages that value needs, adapter first (`@finaegis/kafka`, `kafkajs`). */
  readonly packages: readonly string[];
  /** The command that installs them, e.g. `pnpm add @finaegis/kafka kafkajs`. */
  readonly installCommand: string;

  constructor(
    variable: string,
    value: string,
    packages: readonly string[],
    installCommand: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    const names =
      packages.length === 1
        ? packages[0]
        : `${packages.slice(0, -1).join(', ')} and ${packages[packages.length - 1]}`;
    const detail = options?.detail === undefined ? '' : ` (${options.detail})`;
    super(`${variable}=${value} needs ${names}${detail}: ${installCommand}`, options);
    this.variable = variable;
    this.value = value;
    this.packages = packages;
    this.installCommand = installCommand;
  }
}
