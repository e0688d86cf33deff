// Compiles test/types/inference.ts: it must have no error but the ones its `@ts-expect-error`
// lines mark, and each of those must be a real error (TypeScript reports an unused directive).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const file = resolve(import.meta.dirname, 'types/inference.ts');

const isDirective = (line: string) => line.trimStart().startsWith('// @ts-expect-error');
let previous: ts.Program | undefined;

/** Errors in the file (with `source` in its place when given). The second run reuses the first's work. */
function diagnostics(source?: string): ts.Diagnostic[] {
  const configPath = resolve(import.meta.dirname, '../tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, resolve(import.meta.dirname, '..'));
  const host = ts.createCompilerHost(parsed.options);
  if (source !== undefined) {
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version, ...rest) =>
      resolve(name) === file ? ts.createSourceFile(name, source, version) : read(name, version, ...rest);
  }
  const program = ts.createProgram([file], { ...parsed.options, noEmit: true }, host, previous);
  previous = program;
  return [...ts.getPreEmitDiagnostics(program)].filter(
    (d) => d.file?.fileName === undefined || resolve(d.file.fileName) === file,
  );
}

const text = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, '\n');

test('every marked mistake is a compile error, and nothing else is', () => {
  const found = diagnostics().map(
    (d) => `${d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : '?'}: ${text(d)}`,
  );
  expect(found).toEqual([]);
});

test('without the directives, each marked line fails to compile, and only those', () => {
  const lines = readFileSync(file, 'utf8').split('\n');
  const marked = lines.flatMap((line, i) => (isDirective(line) ? [i + 2] : []));
  expect(marked.length).toBe(28);
  const stripped = lines.map((line) => (isDirective(line) ? '' : line)).join('\n');
  const failing = new Set(
    diagnostics(stripped).map((d) => d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1),
  );
  expect([...failing].sort((a, b) => a - b)).toEqual(marked);
});
