import { describe, expect, it } from 'vitest';
import { decimalProblem, divDown, formatAmount, mulDown, mulUp, parseAmount } from '../src/decimal';

describe('decimal amounts', () => {
  it('parses and formats exactly, without floats', () => {
    expect(parseAmount('1.5')).toBe(150_000_000n);
    expect(parseAmount('0.00000001')).toBe(1n);
    expect(formatAmount(parseAmount('0.1') + parseAmount('0.2'))).toBe('0.3');
    expect(formatAmount(parseAmount('123456789012345.12345678'))).toBe('123456789012345.12345678');
    expect(formatAmount(0n)).toBe('0');
    expect(formatAmount(-150_000_000n)).toBe('-1.5');
  });

  it('refuses what is not a plain non-negative decimal with at most 8 places', () => {
    for (const bad of ['', '-1', '1e3', '1.', '.5', '0x10', ' 1', '1.123456789', 'NaN']) {
      expect(() => parseAmount(bad), bad).toThrow(RangeError);
      expect(decimalProblem(bad), bad).toBeDefined();
    }
    expect(decimalProblem('1.123456789')).toBe('must have at most 8 decimal places');
    expect(decimalProblem(0.5)).toBe('must be a decimal string such as "0.5"');
    expect(decimalProblem('42.1')).toBeUndefined();
  });

  it('reads back what it formats, however many whole digits (requests are limited to 15)', () => {
    // A balance or a lock can be a sum larger than any one request; the exchange once wrote such a
    // lock into an OrderPlaced event and then refused to read it, and the order failed with a 500.
    const sum = parseAmount('999999999999999.99999999') * 3n + parseAmount('1000000');
    expect(formatAmount(sum)).toBe('3000000000999999.99999997');
    expect(parseAmount(formatAmount(sum))).toBe(sum);
    expect(parseAmount(formatAmount(10n ** 40n))).toBe(10n ** 40n);
    expect(decimalProblem('999999999999999.99999999')).toBeUndefined();
    expect(decimalProblem('1000000000000000')).toBe('must have at most 15 digits before the point');
  });

  it('multiplies and divides with the rounding it names', () => {
    const third = parseAmount('0.33333333');
    expect(formatAmount(mulDown(parseAmount('3'), third))).toBe('0.99999999');
    expect(formatAmount(mulDown(parseAmount('0.00000001'), parseAmount('0.5')))).toBe('0');
    expect(formatAmount(mulUp(parseAmount('0.00000001'), parseAmount('0.5')))).toBe('0.00000001');
    expect(formatAmount(mulUp(parseAmount('2'), parseAmount('1.5')))).toBe('3');
    expect(formatAmount(divDown(parseAmount('1'), parseAmount('3')))).toBe('0.33333333');
    expect(() => divDown(1n, 0n)).toThrow(RangeError);
  });
});
