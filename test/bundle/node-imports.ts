/**
 * Finds Node built-in imports in TypeScript sources: static imports and re-exports (type-only
 * ones too: they make the published types need `@types/node`), `import 'x'`, dynamic `import()`
 * and `require()`. Comments and strings that are not import specifiers are ignored (TypeScript's
 * own import scanner reads the files).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { isNodeBuiltin, repoRoot } from './browser-bundle.js';

/** A Node built-in import at a place in a file. */
export interface NodeImport {
  /** The file, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the specifier. */
  readonly line: number;
  readonly specifier: string;
}

/** Node built-in imports in one file's source text. */
export function findNodeImports(file: string, source: string): NodeImport[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .filter((imported) => isNodeBuiltin(imported.fileName))
    .map((imported) => ({
      file,
      line: source.slice(0, imported.pos).split('\n').length,
      specifier: imported.fileName,
    }));
}

/** Every `.ts` file under `folder` (relative to the repository root), skipping `skip` folders. */
export async function listTypeScript(
  folder: string,
  skip: readonly string[] = [],
): Promise<string[]> {
  const entries = await readdir(join(repoRoot, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)))
    .filter((file) => !skip.some((folderToSkip) => file.startsWith(`${folderToSkip}/`)))
    .sort();
}

/** Node built-in imports in the given files (relative to the repository root). */
export async function scanNodeImports(files: readonly string[]): Promise<NodeImport[]> {
  const found = await Promise.all(
    files.map(async (file) => findNodeImports(file, await readFile(join(repoRoot, file), 'utf8'))),
  );
  return found.flat();
}

/** `file:line imports 'specifier'`, one per line, for a failure message. */
export function formatNodeImports(found: readonly NodeImport[]): string {
  return found
    .map(({ file, line, specifier }) => `${file}:${line} imports '${specifier}'`)
    .join('\n');
}
