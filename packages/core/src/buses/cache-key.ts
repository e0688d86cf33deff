import { createHash } from 'node:crypto';

const MAX_PLAIN_KEY = 200;

function canonical(value: unknown, seen: Set<object>): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return `${value}n`;
    if (value === undefined) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (seen.has(value)) throw new TypeError('[@finaegis/core] cannot build a cache key from a circular query');
  seen.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item) => canonical(item, seen)).join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    text = `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(record[key], seen)}`).join(',')}}`;
  }
  seen.delete(value);
  return text;
}

/**
 * A stable key for a query's fields: the same fields give the same key whatever their order;
 * `undefined` fields are left out. Short keys stay readable; long ones become a SHA-256.
 */
export function stableKey(fields: unknown): string {
  const text = flatKey(fields) ?? canonical(fields, new Set());
  if (text.length <= MAX_PLAIN_KEY) return text;
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The canonical text of a flat record of strings, finite numbers and booleans, without the general walk. */
function flatKey(fields: unknown): string | undefined {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return undefined;
  const record = fields as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const value = record[key];
    if (value === undefined) continue;
    let part: string;
    if (typeof value === 'string') part = JSON.stringify(value);
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
      part = String(value);
    else return undefined;
    text += `${first ? '' : ','}${JSON.stringify(key)}:${part}`;
    first = false;
  }
  return `${text}}`;
}
