#!/usr/bin/env node
// The executable's entry (bundled into dist/cli-bundle.cjs and the single executable). `--version`
// is answered here, before the command line parser is even loaded: loading yargs alone takes
// longer than the whole answer should (bench/startup.ts). Everything else goes to src/cli.ts.
// No top-level await: the single executable's bundle is CommonJS.
import { mayBeCheck } from './cli/check-shape.js';
import { EXIT } from './errors.js';
import { VERSION } from './version.js';

/**
 * Says so and sets exit code 2 when the working directory is gone: yargs asks for it as it loads,
 * before the CLI's own error handling, and would die with Node's stack trace.
 */
function saidDirectoryIsGone(): boolean {
  try {
    process.cwd();
    return false;
  } catch (err) {
    process.stderr.write(`pg-preflight: the current directory is gone (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}): run it from a directory that exists\n`);
    process.exitCode = EXIT.usage;
    return true;
  }
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else if (!saidDirectoryIsGone()) {
  void (async () => {
    // A check logs in first, and the server reads the facts while the rest of the CLI loads
    // (src/cli/early-login.ts); any other command, --help among them, loads nothing for it.
    const ahead = mayBeCheck(argv) ? (await import('./cli/early-login.js')).loginAhead(argv, process.env) : undefined;
    // Each step of a login waits for a turn of the event loop, which loading modules (synchronous)
    // does not give it: the modules load in the login's pauses, one turn between them.
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    if (ahead) {
      await turn();
      await import('./cli/check-command.js');
      await turn();
    }
    const { main } = await import('./cli.js');
    await ahead?.loggedIn();
    process.exitCode = await main(argv, undefined, ahead);
    // main has closed its connections and written its reports: exit once the output is flushed,
    // rather than when the event loop runs dry. Until then V8 may still finish a garbage
    // collection it started for a process about to end (12 ms after a check of 10,000
    // sequences, --trace-gc).
    process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  })();
}
