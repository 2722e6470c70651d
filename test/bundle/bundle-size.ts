/**
 * Prints the browser bundle sizes the README states: the core (`mcp-orchestration`) and the
 * IndexedDB adapter (`mcp-orchestration/indexeddb`), each bundled on its own for the browser,
 * minified, without xstate, @xstate/store and idb-keyval (the application's own dependencies).
 * Fails when a bundle imports a Node built-in.
 *
 * Run: `npx tsx test/bundle/bundle-size.ts`
 */
import { BROWSER_ENTRIES, BROWSER_EXTERNALS, bundleForBrowser } from './browser-bundle.js';

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

const rows: string[] = [];
let failed = false;
for (const [name, file] of Object.entries(BROWSER_ENTRIES)) {
  const bundle = await bundleForBrowser({ file });
  for (const { specifier, importer } of bundle.builtins) {
    console.error(`${name}: ${importer} imports the Node built-in '${specifier}'`);
    failed = true;
  }
  rows.push(
    `| ${name} (\`${file}\`) | ${kb(bundle.bytes)} (${bundle.bytes} B) | ${kb(bundle.gzipBytes)} (${bundle.gzipBytes} B) |`,
  );
}
console.log(
  `Browser bundles (esbuild, minified, ESM; external: ${BROWSER_EXTERNALS.join(', ')})\n`,
);
console.log('| entry | minified | gzipped |\n|---|---|---|');
console.log(rows.join('\n'));
if (failed) process.exitCode = 1;
