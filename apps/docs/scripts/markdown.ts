// Reading the pages: their fenced code blocks, their `<<<` includes and their headings, each with
// the line it starts on, so that a finding points at the page and line to fix.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A fenced code block of a page. */
export interface CodeBlock {
  /** The page, relative to the repository root. */
  readonly page: string;
  /** Line of the opening fence (1-based). */
  readonly line: number;
  /** The language after the fence, lower case (`ts`, `sh`, `php`, ...). */
  readonly lang: string;
  /** The words after the language: `run`, a `[title]`, `{1,3}` line marks. */
  readonly meta: readonly string[];
  readonly code: string;
}

/** A `<<< @/../examples/file.ts#region` line: VitePress puts the file (or region) on the page. */
export interface Include {
  readonly page: string;
  readonly line: number;
  /** The path after `@/` (relative to the pages' folder). */
  readonly path: string;
  readonly region: string | undefined;
}

/** A markdown heading. */
export interface Heading {
  readonly line: number;
  readonly depth: number;
  readonly text: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`{[]*)(.*)$/;

/** The fenced code blocks of a markdown text, in order. */
export function codeBlocks(markdown: string, page: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const [, indent = '', fence = '```', lang = '', rest = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    blocks.push({
      page,
      line: i + 1,
      lang: lang.toLowerCase(),
      meta: rest.trim() === '' ? [] : rest.trim().split(/\s+/),
      code: body.join('\n'),
    });
    i = j;
  }
  return blocks;
}

/** Lines outside code blocks, with their numbers (so a `#` in a shell block is no heading). */
function proseLines(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const open = FENCE.exec(text);
    if (fence === undefined && open !== null) fence = open[2];
    else if (fence !== undefined && text.trim().startsWith(fence) && text.trim().replace(/[`~]/g, '') === '')
      fence = undefined;
    else if (fence === undefined) out.push({ line: index + 1, text });
  });
  return out;
}

/** The `<<<` includes of a page. */
export function includes(markdown: string, page: string): Include[] {
  return proseLines(markdown).flatMap(({ line, text }) => {
    const match = /^<<<\s+@\/(\S+?)(?:#([\w-]+))?(?:\s.*)?$/.exec(text.trim());
    if (match === null) return [];
    return [{ page, line, path: match[1] ?? '', region: match[2] }];
  });
}

/** The headings of a page (ATX style), without a trailing `{#id}`. */
export function headings(markdown: string): Heading[] {
  return proseLines(markdown).flatMap(({ line, text }) => {
    const match = /^(#{1,6})\s+(.*?)\s*(?:\{#[\w-]+\})?\s*$/.exec(text);
    if (match === null) return [];
    return [{ line, depth: (match[1] ?? '').length, text: match[2] ?? '' }];
  });
}

/** Every `.md` file under `dir`, but the generated API reference. */
export function markdownFiles(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (skip.has(path)) return [];
      if (statSync(path).isDirectory()) return markdownFiles(path, skip);
      return entry.endsWith('.md') ? [path] : [];
    });
}

/** Reads a file as text. */
export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
