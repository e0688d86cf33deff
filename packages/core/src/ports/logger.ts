/** Structured log context: JSON-safe values. */
export type LogContext = Record<string, unknown>;

/**
 * The Logger port. The logging middleware writes the guide's lines through it
 * (`Command dispatched {"command":"PlaceOrderCommand","user":"123"}`).
 */
export interface Logger {
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
}

/** Writes `[time] domain.LEVEL: message {json}` lines to the console, as in the guide. */
export function consoleLogger(channel = 'domain'): Logger {
  const write = (level: string, out: (line: string) => void) => (message: string, context?: LogContext) => {
    const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
    out(`[${time}] ${channel}.${level}: ${message}${context ? ` ${JSON.stringify(context)}` : ''}`);
  };
  return {
    debug: write('DEBUG', (line) => console.debug(line)),
    info: write('INFO', (line) => console.info(line)),
    warn: write('WARNING', (line) => console.warn(line)),
    error: write('ERROR', (line) => console.error(line)),
  };
}

const SEVERITY = { debug: 0, info: 1, warn: 2, error: 3, off: 4 } as const;

/**
 * A logger that passes on only lines at `level` or above (`off`: none). Used by `createCqrs()` for
 * `config.logLevel`.
 */
export function withLogLevel(logger: Logger, level: keyof typeof SEVERITY): Logger {
  const min = SEVERITY[level];
  if (min === SEVERITY.debug) return logger;
  const keep = (at: keyof typeof SEVERITY) => min <= SEVERITY[at];
  return {
    debug() {},
    info: keep('info') ? (message, context) => logger.info(message, context) : () => {},
    warn: keep('warn') ? (message, context) => logger.warn(message, context) : () => {},
    error: keep('error') ? (message, context) => logger.error(message, context) : () => {},
  };
}

/** Drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** The part of a pino (or bunyan-style) logger we call: `(object, message)`. */
export interface PinoLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Adapts a pino logger to the Logger port. */
export function pinoLogger(pino: PinoLike): Logger {
  return {
    debug: (message, context) => pino.debug(context ?? {}, message),
    info: (message, context) => pino.info(context ?? {}, message),
    warn: (message, context) => pino.warn(context ?? {}, message),
    error: (message, context) => pino.error(context ?? {}, message),
  };
}
