import type { HealthCheck } from '@finaegis/core';

/**
 * The store's health: one read of a key nobody writes, within the store's operation timeout. A
 * store that is down only slows queries down to their handlers, so composition reports it without
 * making the app unready.
 */
export async function cacheHealth(
  name: string,
  probe: () => Promise<unknown>,
): Promise<readonly HealthCheck[]> {
  try {
    await probe();
    return [{ name, status: 'up' }];
  } catch (error) {
    return [{ name, status: 'down', detail: error instanceof Error ? error.message : String(error) }];
  }
}
