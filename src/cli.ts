#!/usr/bin/env node
// The command line: parse arguments, call the library, print, exit. No checking logic lives here;
// each command is a module under src/cli/, imported only when that command runs, and the error
// reporters only when there is an error: `--help` loads yargs and the option lists, nothing else
// (start-up time: bench/startup.ts).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { EXIT, PreflightError, usageError } from './errors.js';
import { redact } from './redact.js';
import { withCheckOptions, withFixOptions, type CheckArgs, type FixArgs, type Format } from './cli/common-options.js';
import { parserDefinitions, SHELLS, type Shell } from './cli/parser-definitions.js';
import { processIo, useColor, type Io } from './cli/io.js';
import { TOOL } from './version.js';
import type { SessionAhead } from './session-ahead.js';

export type { Io };

/** Known before parsing, so that a usage error in a JSON run still comes out as JSON. */
function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '--format=json' || a === '-f=json' || ((a === '--format' || a === '-f') && argv[i + 1] === 'json'));
}

/**
 * `check` is the default command, and yargs renders the whole help text of a command named on the
 * command line before running it, in case the handler asks for it (10 ms of wrapping 50 option
 * lines, at every pre-start check; --cpu-prof). Without the word yargs takes the same command as
 * the default and renders nothing. `check --help` keeps the word: it shows check's own help.
 */
function asDefaultCommand(argv: string[]): string[] {
  return argv[0] === 'check' && !argv.some((a) => a === '--help' || a === '-h') ? argv.slice(1) : argv;
}

/**
 * Parses argv and runs the command; returns the exit code instead of exiting, for tests. `ahead`
 * is a login the executable started before loading this module (src/cli/early-login.ts): a check
 * of the target it was opened for takes it, and it is closed when nothing does.
 */
export async function main(argvAsGiven: string[], io: Io = processIo, ahead?: SessionAhead): Promise<number> {
  const argv = asDefaultCommand(argvAsGiven);
  let code: number = EXIT.ok;
  const format: Format = wantsJson(argv) ? 'json' : 'text';
  const helpText: string[] = [];
  try {
    const parser = yargs(argv)
      .scriptName('pg-preflight')
      .usage('$0 [command] [options]\n\nChecks a PostgreSQL database before Synapse (or any application) starts on it, and prints the fix.')
      .command(['check', '$0'], 'Run the checks (the default command)', (y) => withCheckOptions(y), async (args) => {
        const { checkCommand } = await import('./cli/check-command.js');
        code = await checkCommand(args as unknown as CheckArgs, io, ahead);
      })
      .command('fix', 'Show the SQL that moves lagging sequences forward; --apply runs it in one transaction', (y) => withFixOptions(y), async (args) => {
        const { fixCommand } = await import('./cli/fix-command.js');
        code = await fixCommand(args as unknown as FixArgs, io);
      })
      .command('list', 'List the checks', (y) => y.option('format', { choices: ['text', 'json'] as const, default: 'text' as Format }), async (args) => {
        const { listCommand } = await import('./cli/info-commands.js');
        code = listCommand(args as { format: Format }, io);
      })
      .command('explain <id>', 'Explain what a check looks at and how to fix what it finds', (y) => y.positional('id', { type: 'string', demandOption: true }), async (args) => {
        const { explainCommand } = await import('./cli/info-commands.js');
        code = explainCommand(String(args.id), io);
      })
      .command('demo', 'Start a throwaway PostgreSQL, break a Synapse-like database, check it, fix it, check again', (y) => y.option('color', { type: 'boolean', default: true }), async (args) => {
        // Loaded on demand: the demo pulls in the throwaway-server harness, which `check` never needs.
        const { runDemo } = await import('./demo.js');
        code = await runDemo({ color: useColor(args, io), write: io.stdout });
      })
      .command('completion <shell>', 'Print a completion script for bash or zsh (commands, flags, check ids)', (y) => y.positional('shell', { choices: SHELLS, demandOption: true }), async (args) => {
        const { completionCommand } = await import('./cli/completion.js');
        code = completionCommand(args.shell as Shell, definitions, io);
      })
      .strict()
      .help()
      .version('version', 'Print the version of pg-preflight', TOOL.version)
      .alias('version', 'V')
      .wrap(Math.min(110, process.stdout.columns || 100))
      .exitProcess(false)
      .fail((msg, err) => {
        if (err) throw err;
        throw usageError('usage', `${msg}; run "pg-preflight --help" for the usage`);
      });
    const definitions = parserDefinitions(parser);
    // Help goes to our stdout, so tests and pipes see it like any other output.
    await parser.parseAsync(argv, {}, (_err, _argv, output) => {
      if (output) helpText.push(output);
    });
    if (helpText.length > 0) io.stdout(helpText.join('\n') + '\n');
  } catch (err) {
    if (err instanceof PreflightError) {
      if (format === 'json') {
        const { jsonErrorReport } = await import('./reporters/json.js');
        io.stdout(JSON.stringify(jsonErrorReport(err), null, 2) + '\n');
      } else {
        const [{ renderError }, { Chalk }] = await Promise.all([import('./reporters/text.js'), import('chalk')]);
        io.stderr(renderError(err, new Chalk({ level: io.isTTY && !io.env.NO_COLOR ? 1 : 0 })) + '\n');
      }
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`pg-preflight: internal error: ${redact(message, [io.env.PGPASSWORD ?? ''].filter((s) => s.length >= 3))}\nThis is a bug in pg-preflight; please report it with the command you ran.\n`);
    return EXIT.internal;
  } finally {
    ahead?.discard();
  }
  return code;
}

function invokedDirectly(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
