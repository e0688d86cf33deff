import { decodeJson } from '@finaegis/core';
import { formatCause } from '@finaegis/core/adapter';
import { CacheStoreError } from './cache-store-error';

// How entries are stored: `<namespace generation>|<encoded value>`. Tagging each entry with its
// namespace's generation makes `clear()` one write (a new generation) and a read one MGET.

const NAME = 'keyv';
// Separates the generation from the encoded value in a stored entry; generations never contain it.
const SEPARATOR = '|';
const SEPARATOR_CODE = SEPARATOR.charCodeAt(0);

/** The stored text of an entry: its namespace's generation, then the encoded value. */
export function entryText(generation: string, body: string): string {
  return generation + SEPARATOR + body;
}

/** The wrapped value of a stored entry, or `undefined` when it is absent or of an older generation. */
export function readEntry(stored: unknown, generation: unknown): { readonly value: unknown } | undefined {
  if (stored === undefined || stored === null || typeof generation !== 'string') return undefined;
  if (typeof stored !== 'string') {
    throw new CacheStoreError(
      NAME,
      'get',
      'corrupt-entry',
      `expected a string entry, found ${typeof stored}`,
    );
  }
  if (!isLive(stored, generation)) return undefined;
  const cut = generation.length;
  if (stored.length === cut + 1) return { value: undefined };
  try {
    return { value: decodeJson(stored.slice(cut + 1)) };
  } catch (error) {
    throw new CacheStoreError(NAME, 'get', 'corrupt-entry', formatCause(error), { cause: error });
  }
}

/** Whether a stored entry is tagged with the namespace's current generation (without decoding it). */
export function isLive(stored: unknown, generation: unknown): stored is string {
  return (
    typeof stored === 'string' &&
    typeof generation === 'string' &&
    stored.charCodeAt(generation.length) === SEPARATOR_CODE &&
    stored.startsWith(generation)
  );
}
