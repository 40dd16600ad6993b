#!/usr/bin/env node
// The executable's entry (bundled into dist/cli.mjs and the single executable). `--version` is
// answered here, before the command line parser is even loaded: loading yargs alone takes longer
// than the whole answer should (bench/startup.ts). Everything else goes to src/cli.ts.
// No top-level await: the single executable's bundle is CommonJS.
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  void import('./cli.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
  });
}
