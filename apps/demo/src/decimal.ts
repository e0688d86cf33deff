/**
 * Exact money amounts: a bigint count of 10^-8 units (satoshi-sized), read from and written as decimal
 * strings. Floats never touch an amount, so 0.1 + 0.2 is 0.3 here.
 */
export type Amount = bigint;

export const SCALE = 8;
const FACTOR = 10n ** BigInt(SCALE);
/** The shape of an amount anywhere: digits, optionally a point and 1 to 8 decimals. */
const PATTERN = /^(\d+)(?:\.(\d{1,8}))?$/;
/** Whole digits accepted from a request. Business limits (`LIMITS`) are far below this. */
export const MAX_INPUT_DIGITS = 15;

/**
 * Why a decimal string from a request was refused; `undefined` when it is a valid non-negative
 * amount of at most 15 whole digits. (The limits of what an order or deposit may be are checked
 * where they apply, with messages naming the limit.)
 */
export function decimalProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return 'must be a decimal string such as "0.5"';
  const match = PATTERN.exec(text);
  if (match === null) {
    if (/^\d+\.\d{9,}$/.test(text)) return `must have at most ${SCALE} decimal places`;
    return 'must be a decimal string such as "0.5"';
  }
  if (match[1]!.length > MAX_INPUT_DIGITS)
    return `must have at most ${MAX_INPUT_DIGITS} digits before the point`;
  return undefined;
}

/**
 * Parses `"12.345"` to its fixed-point amount. Any number of whole digits is read: this also reads
 * back what `formatAmount` wrote into events (a sum of amounts may have more digits than a
 * request may send, and refusing our own stored values once made an order fail with a 500).
 * @throws RangeError for anything but a plain non-negative decimal with at most 8 decimals.
 */
export function parseAmount(text: string): Amount {
  const match = PATTERN.exec(text);
  if (match === null) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const whole = BigInt(match[1]!);
  const fraction = BigInt((match[2] ?? '').padEnd(SCALE, '0'));
  return whole * FACTOR + fraction;
}

/** The shortest decimal string of an amount: `150000000n` → `"1.5"`. */
export function formatAmount(amount: Amount): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / FACTOR;
  const fraction = (abs % FACTOR).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** a × b, rounded down to 8 decimals (toward zero for non-negative inputs). */
export function mulDown(a: Amount, b: Amount): Amount {
  return (a * b) / FACTOR;
}

/** a × b, rounded up to 8 decimals. */
export function mulUp(a: Amount, b: Amount): Amount {
  const product = a * b;
  const quotient = product / FACTOR;
  return product % FACTOR === 0n ? quotient : quotient + 1n;
}

/** a ÷ b, rounded down to 8 decimals. */
export function divDown(a: Amount, b: Amount): Amount {
  if (b === 0n) throw new RangeError('division by zero');
  return (a * FACTOR) / b;
}

export function minAmount(a: Amount, b: Amount): Amount {
  return a < b ? a : b;
}

/** Compares two decimal strings numerically (for sorting). */
export function compareDecimal(a: string, b: string): number {
  const x = parseAmount(a);
  const y = parseAmount(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
