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

/** A query's cache key (within its namespace), or `undefined` to fall back to the general walk. */
export type KeyFunction = (query: object) => string | undefined;

/**
 * A key function compiled for one query class from one of its instances: it reads the instance's
 * own fields in the sample's order and writes them in sorted order, with the `"name":` parts
 * computed once. It gives exactly `stableKey(query.toPayload())` (the keys are the same across
 * processes and versions) for instances with the sample's fields, each a string, a finite number or
 * a boolean; for anything else (another set of fields, an `undefined`, an object) it returns
 * `undefined` and the caller takes the general path.
 *
 * It remembers the last fields it saw and their key: a hot query asked again with equal fields gets
 * the same string back without building it (and a string already hashed by the cache's Map).
 */
export function compileKeyFunction(sample: object): KeyFunction | undefined {
  const names = Object.keys(sample);
  const count = names.length;
  if (count === 0 || count > 32) return undefined;
  const sorted = [...names].sort();
  return generatedKeyFunction(names, sorted) ?? closureKeyFunction(names, sorted);
}

/** The long-key form of a key's text (shared by both compiled forms). */
function finish(text: string): string {
  return text.length <= MAX_PLAIN_KEY ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * The key function as generated code: field reads by constant name (monomorphic, no keyed loads),
 * about twice as fast as the closure. Names enter the source only as `JSON.stringify` literals.
 * `undefined` where the runtime forbids code generation (`--disallow-code-generation-from-strings`).
 */
function generatedKeyFunction(names: readonly string[], sorted: readonly string[]): KeyFunction | undefined {
  const literal = (text: string) => JSON.stringify(text);
  const count = names.length;
  const lines = [
    'const own = Object.keys(q);',
    `if (own.length !== ${count}${names.map((name, index) => ` || own[${index}] !== ${literal(name)}`).join('')}) return undefined;`,
    ...sorted.map((name, index) => `const v${index} = q[${literal(name)}];`),
    `if (lastKey !== undefined${sorted.map((_, index) => ` && v${index} === l${index}`).join('')}) return lastKey;`,
    'let text = "";',
    ...sorted.map((name, index) => {
      const head = literal(`${index === 0 ? '{' : ','}${literal(name)}:`);
      return (
        `if (typeof v${index} === "string") text += ${head} + quote(v${index});` +
        ` else if (typeof v${index} === "number") { if (!Number.isFinite(v${index})) return undefined; text += ${head} + v${index}; }` +
        ` else if (typeof v${index} === "boolean") text += ${head} + (v${index} ? "true" : "false");` +
        ' else return undefined;'
      );
    }),
    'const key = finish(text + "}");',
    ...sorted.map((_, index) => `l${index} = v${index};`),
    'lastKey = key;',
    'return key;',
  ];
  const state = `let lastKey${sorted.map((_, index) => `, l${index}`).join('')};`;
  try {
    const factory = new Function(
      'quote',
      'finish',
      `${state}\nreturn function key(q) {\n${lines.join('\n')}\n};`,
    );
    return factory(quote, finish) as KeyFunction;
  } catch {
    return undefined;
  }
}

/** The key function as a closure: the fallback where code generation is forbidden. Exported for its test. */
export function closureKeyFunction(names: readonly string[], sorted: readonly string[]): KeyFunction {
  const count = names.length;
  const heads = sorted.map((name, index) => `${index === 0 ? '{' : ','}${JSON.stringify(name)}:`);
  const last: unknown[] = new Array(count).fill(undefined);
  let lastKey: string | undefined;
  return (query) => {
    const own = Object.keys(query);
    if (own.length !== count) return undefined;
    for (let index = 0; index < count; index++) if (own[index] !== names[index]) return undefined;
    const record = query as Record<string, unknown>;
    if (lastKey !== undefined) {
      let same = true;
      for (let index = 0; index < count; index++) {
        if (record[sorted[index]!] !== last[index]) {
          same = false;
          break;
        }
      }
      if (same) return lastKey;
    }
    let text = '';
    for (let index = 0; index < count; index++) {
      const value = record[sorted[index]!];
      if (typeof value === 'string') text += heads[index]! + quote(value);
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) return undefined;
        text += heads[index]! + String(value);
      } else if (typeof value === 'boolean') text += heads[index]! + (value ? 'true' : 'false');
      else return undefined;
    }
    const key = finish(`${text}}`);
    for (let index = 0; index < count; index++) last[index] = record[sorted[index]!];
    lastKey = key;
    return key;
  };
}

/** `JSON.stringify(text)`, skipping the call when nothing needs escaping (the common case). */
function quote(text: string): string {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // JSON escapes ", \, control characters and (well-formed stringify) lone surrogates.
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff))
      return JSON.stringify(text);
  }
  return `"${text}"`;
}
