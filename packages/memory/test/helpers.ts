// Shared setup of this package's tests.

/** Decimal strings in, integer cents inside: money is never a float. */
export function cents(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
}

/**
 * Waits until `condition` holds, polling every 2 ms, and fails naming `what` after about
 * `timeoutMs`. Counts its own waits rather than reading the clock, so it also ends under fake `Date`.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what = 'the condition',
  timeoutMs = 5000,
): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 2) {
    if (waited > timeoutMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  // Asked once more: some tests count on the few microtask turns this gives work that just settled.
  if (!(await condition())) throw new Error(`${what} held, then no longer`);
}
