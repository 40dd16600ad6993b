#!/usr/bin/env node
// The executable's entry (bundled into dist/cli-bundle.cjs and the single executable). `--version`
// is answered here, before the command line parser is even loaded: loading yargs alone takes
// longer than the whole answer should (bench/startup.ts). Everything else goes to src/cli.ts.
// No top-level await: the single executable's bundle is CommonJS.
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  void import('./cli.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
    // main has closed its connections and written its reports: exit once the output is flushed,
    // rather than when the event loop runs dry. Until then V8 may still finish a garbage
    // collection it started for a process about to end (12 ms after a check of 10,000
    // sequences, --trace-gc).
    process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  });
}
