// The "undocumented export" check: every name a public entry point exports must carry a TSDoc
// comment where it is declared. It reads the sources with the TypeScript compiler (the same program
// the type check builds), so a finding names the entry point, the export and the line to document.
import { join } from 'node:path';
import ts from 'typescript';
import { type EntryPoint, type Finding, fromRoot, repoRoot } from './workspace';

/** One exported name of an entry point, where it is declared and whether it is documented. */
export interface ExportedName {
  readonly specifier: string;
  readonly name: string;
  readonly kind: string;
  readonly where: string;
  readonly documented: boolean;
}

const KIND_NAMES: Partial<Record<ts.SyntaxKind, string>> = {
  [ts.SyntaxKind.ClassDeclaration]: 'class',
  [ts.SyntaxKind.InterfaceDeclaration]: 'interface',
  [ts.SyntaxKind.TypeAliasDeclaration]: 'type alias',
  [ts.SyntaxKind.FunctionDeclaration]: 'function',
  [ts.SyntaxKind.VariableDeclaration]: 'variable',
  [ts.SyntaxKind.EnumDeclaration]: 'enum',
  [ts.SyntaxKind.ModuleDeclaration]: 'namespace',
};

/** The compiler options of the root tsconfig (workspace `paths` to the sources). */
export function rootCompilerOptions(root = repoRoot): ts.CompilerOptions {
  const file = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(file, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, { noEmit: true }, file);
  return parsed.options;
}

function hasDoc(declaration: ts.Declaration): { documented: boolean; internal: boolean } {
  const nodes = ts.getJSDocCommentsAndTags(declaration);
  let documented = false;
  let internal = false;
  for (const node of nodes) {
    if (!ts.isJSDoc(node)) continue;
    const text =
      typeof node.comment === 'string' ? node.comment : (node.comment ?? []).map((c) => c.text).join('');
    const tags = node.tags ?? [];
    if (tags.some((tag) => tag.tagName.text === 'internal')) internal = true;
    if (text.trim() !== '' || tags.some((tag) => tag.tagName.text !== 'internal')) documented = true;
  }
  return { documented, internal };
}

/** Every name the entry points export, with where it is declared and whether it has TSDoc. */
export function exportedNames(
  entries: readonly EntryPoint[],
  options = rootCompilerOptions(),
): ExportedName[] {
  const program = ts.createProgram(
    entries.map((e) => e.file),
    options,
  );
  const checker = program.getTypeChecker();
  const names: ExportedName[] = [];
  for (const entry of entries) {
    const source = program.getSourceFile(entry.file);
    const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declarations = symbol.declarations ?? [];
      const first = declarations[0];
      if (first === undefined) continue;
      const docs = declarations.map(hasDoc);
      if (docs.some((d) => d.internal)) continue; // stripped from the published types
      const file = first.getSourceFile();
      const line = file.getLineAndCharacterOfPosition(first.getStart()).line + 1;
      names.push({
        specifier: entry.specifier,
        name: exported.name,
        kind: KIND_NAMES[first.kind] ?? ts.SyntaxKind[first.kind],
        where: `${fromRoot(file.fileName)}:${line}`,
        documented: docs.some((d) => d.documented),
      });
    }
  }
  return names;
}

/** The exports without TSDoc, one finding each: `@finaegis/core: LogLevel (type alias) ...`. */
export function undocumentedExports(names: readonly ExportedName[]): Finding[] {
  return names
    .filter((n) => !n.documented)
    .map((n) => ({
      where: n.where,
      message: `${n.specifier} exports ${n.name} (${n.kind}) without a TSDoc comment: add /** ... */ above its declaration`,
    }));
}
