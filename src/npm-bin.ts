#!/usr/bin/env node
// The package's bin (dist/cli.cjs): answers `--version` itself, and otherwise runs the whole CLI,
// bundled as one CommonJS script (dist/cli-bundle.cjs, built from src/bin.ts), from V8's code cache
// (src/code-cache.ts). An ES module bundle cannot use a code cache on Node 20, and compiling it
// was about a fifth of every check's wall time. The single executable runs src/bin.ts directly,
// with the code cache that Node's SEA builder puts into the executable.
import { fileURLToPath } from 'node:url';
import { readCodeCache, runBundle } from './code-cache.js';
import { lendImport } from './dynamic-import.js';
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const bundle = fileURLToPath(new URL('./cli-bundle.cjs', import.meta.url));
  // The bundle's import() of plugins, sql.js and the embedded servers goes through this one.
  lendImport((specifier) => import(specifier));
  runBundle(bundle, readCodeCache(bundle));
}
