/**
 * Prints the browser bundle sizes the README states: the core (`mcp-orchestration`) and the
 * IndexedDB adapter (`mcp-orchestration/indexeddb`), each bundled on its own for the browser,
 * then both together and a typical app's tree-shaken share; minified, without xstate,
 * @xstate/store and idb-keyval (the application's own dependencies). Fails when a bundle
 * imports a Node built-in.
 *
 * Run: `npx tsx test/bundle/bundle-size.ts`
 */
import {
  BROWSER_ENTRIES,
  BROWSER_EXTERNALS,
  type BundleEntry,
  bundleForBrowser,
  repoRoot,
} from './browser-bundle.js';

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/**
 * Each entry whole and on its own, both in one bundle, and what an app that runs workflows on
 * IndexedDB ships once its bundler drops what it does not use (the package has no side effects).
 */
const bundles: [string, BundleEntry][] = [
  ...Object.entries(BROWSER_ENTRIES).map(([name, file]): [string, BundleEntry] => [
    `${name} (\`${file}\`)`,
    { file },
  ]),
  [
    'both in one bundle',
    {
      contents: Object.values(BROWSER_ENTRIES)
        .map((file) => `export * from './${file}';`)
        .join('\n'),
      resolveDir: repoRoot,
    },
  ],
  [
    'a typical app: createRuntime, defineWorkflow, createIndexedDbStore, withWebLock (tree-shaken)',
    {
      contents: [
        "export { createRuntime, defineWorkflow } from './src/index.ts';",
        "export { createIndexedDbStore, withWebLock } from './adapters/indexeddb.ts';",
      ].join('\n'),
      resolveDir: repoRoot,
    },
  ],
];

const rows: string[] = [];
let failed = false;
for (const [name, entry] of bundles) {
  const bundle = await bundleForBrowser(entry);
  for (const { specifier, importer } of bundle.builtins) {
    console.error(`${name}: ${importer} imports the Node built-in '${specifier}'`);
    failed = true;
  }
  rows.push(
    `| ${name} | ${kb(bundle.bytes)} (${bundle.bytes} B) | ${kb(bundle.gzipBytes)} (${bundle.gzipBytes} B) |`,
  );
}
console.log(
  `Browser bundles (esbuild, minified, ESM; external: ${BROWSER_EXTERNALS.join(', ')})\n`,
);
console.log('| entry | minified | gzipped |\n|---|---|---|');
console.log(rows.join('\n'));
if (failed) process.exitCode = 1;
