/**
 * Bundles the package's browser entry points with esbuild the way an application bundler would
 * (platform `browser`, minified, `xstate`, `@xstate/store` and `idb-keyval` left external as the
 * application's own dependencies) and reports every Node built-in the bundle reaches, with the
 * file that imports it. Used by `browser-bundle.test.ts` and `bundle-size.ts`.
 */
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Plugin } from 'esbuild';

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Packages a browser application brings itself; never counted in the bundle. */
export const BROWSER_EXTERNALS: readonly string[] = ['xstate', '@xstate/store', 'idb-keyval'];

/** The entry points that must run in a browser, by the name the README gives them. */
export const BROWSER_ENTRIES: Readonly<Record<string, string>> = {
  core: 'src/index.ts',
  indexeddb: 'adapters/indexeddb.ts',
};

/** Node's built-in modules, bare and with `node:`, plus `node:`-only ones such as `node:test`. */
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Whether `specifier` names a Node built-in: `node:anything`, or a bare built-in name or a path
 * inside one (`fs`, `fs/promises`, `path/posix`).
 */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return builtins.has(specifier) || builtins.has(specifier.split('/')[0] ?? specifier);
}

/** A Node built-in import found in a bundle. */
export interface BuiltinImport {
  /** The specifier as written, e.g. `node:fs/promises`. */
  readonly specifier: string;
  /** The importing file, relative to the repository root. */
  readonly importer: string;
}

/** What {@link bundleForBrowser} produced. */
export interface BrowserBundle {
  /** The minified JavaScript. */
  readonly code: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** Its size gzipped (level 9), in bytes. */
  readonly gzipBytes: number;
  /** Every Node built-in the bundle imports; empty when it is browser-safe. */
  readonly builtins: readonly BuiltinImport[];
  /** Every module the bundle leaves to the application (externals and built-ins). */
  readonly externalImports: readonly string[];
}

/** Where the entry comes from: a file of the repository, or source text resolved in `resolveDir`. */
export type BundleEntry =
  | { readonly file: string }
  | { readonly contents: string; readonly resolveDir: string };

/**
 * Records Node built-ins instead of failing on them (esbuild stops at the first one when
 * bundling for the browser), so a check can name every one and its importer.
 */
function builtinRecorder(found: BuiltinImport[]): Plugin {
  return {
    name: 'record-node-builtins',
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || !isNodeBuiltin(args.path)) return undefined;
        const importer = args.importer === '' ? '<stdin>' : relative(repoRoot, args.importer);
        found.push({ specifier: args.path, importer });
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Bundles one entry for the browser from the TypeScript sources (the `source` export
 * condition, which also picks the browser default store behind `#default-store`).
 */
export async function bundleForBrowser(entry: BundleEntry): Promise<BrowserBundle> {
  const found: BuiltinImport[] = [];
  const options: BuildOptions = {
    absWorkingDir: repoRoot,
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    external: [...BROWSER_EXTERNALS],
    logLevel: 'silent',
    plugins: [builtinRecorder(found)],
  };
  const result = await build(
    'file' in entry
      ? { ...options, entryPoints: [join(repoRoot, entry.file)] }
      : {
          ...options,
          stdin: { contents: entry.contents, resolveDir: entry.resolveDir, loader: 'ts' },
        },
  );
  const output = result.outputFiles?.[0];
  if (output === undefined) throw new Error('esbuild wrote no output');
  const externalImports = Object.values(result.metafile?.outputs ?? {}).flatMap((out) =>
    out.imports.filter((imported) => imported.external).map((imported) => imported.path),
  );
  return {
    code: output.text,
    bytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    builtins: found,
    externalImports: [...new Set(externalImports)].sort(),
  };
}
