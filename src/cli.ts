#!/usr/bin/env node
// The command line: parse arguments, call the library, print, exit. No checking logic lives here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { Chalk } from 'chalk';
import { resolveTargets } from './config/resolve.js';
import { EXIT, PreflightError, usageError } from './errors.js';
import { allChecks, findCheck, parseIdList, selectChecks } from './registry.js';
import { runChecks, type Report } from './runner.js';
import { exitCodeFor, parseFailOn } from './preflight.js';
import { jsonErrorReport, jsonReport } from './reporters/json.js';
import { renderError, textReport } from './reporters/text.js';
import { redact, secretsOf } from './redact.js';
import { runDemo } from './demo.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

const defaultIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  isTTY: Boolean(process.stdout.isTTY),
};

type Format = 'text' | 'json';

interface CommonArgs {
  dsn?: string;
  config?: string[];
  format: Format;
  color: boolean;
  'fail-on': string;
  only?: string[];
  skip?: string[];
  'connect-timeout': number;
  'statement-timeout': number;
  'lock-timeout': number;
  'synapse-version'?: string;
  thorough: boolean;
  quiet: boolean;
}

function withCommonOptions<T>(y: Argv<T>) {
  return y
    .option('dsn', { type: 'string', describe: 'Connection URI or "key=value" string; wins over --config and PG* variables', group: 'Connection:' })
    .option('config', { alias: 'c', type: 'string', array: true, describe: 'Synapse homeserver.yaml (repeatable; merged like Synapse merges them)', group: 'Connection:' })
    .option('connect-timeout', { type: 'number', default: 10, describe: 'Seconds to wait for a connection and login', group: 'Connection:' })
    .option('statement-timeout', { type: 'number', default: 5, describe: 'Seconds any one query may run', group: 'Connection:' })
    .option('lock-timeout', { type: 'number', default: 2, describe: 'Seconds to wait for a lock', group: 'Connection:' })
    .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as Format, describe: 'Output format', group: 'Output:' })
    .option('color', { type: 'boolean', default: true, describe: 'Colour text output (--no-color; NO_COLOR and non-TTY also turn it off)', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing when all is well, only the problems otherwise', group: 'Output:' })
    .option('fail-on', { choices: ['error', 'warning', 'never'], default: 'error', describe: 'Lowest status that makes the exit code 1', group: 'Checks:' })
    .option('only', { type: 'string', array: true, describe: 'Run only these check ids (comma-separated or repeated)', group: 'Checks:' })
    .option('skip', { type: 'string', array: true, describe: 'Skip these check ids', group: 'Checks:' })
    .option('synapse-version', { type: 'string', describe: 'Synapse release that will run on the database, e.g. 1.157.1', group: 'Checks:' })
    .option('thorough', { type: 'boolean', default: false, describe: 'Read table maxima even without an index (slow on large tables)', group: 'Checks:' });
}

function useColor(args: { color: boolean }, io: Io): boolean {
  return args.color && io.isTTY && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}

function seconds(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw usageError('usage', `--${name} must be a positive number of seconds`);
  return Math.round(value * 1000);
}

async function runCheckCommand(args: CommonArgs, io: Io): Promise<number> {
  const failOn = parseFailOn(args['fail-on']);
  const { targets } = resolveTargets({ dsn: args.dsn, configPaths: args.config, env: io.env });
  const secrets = secretsOf(targets, [io.env.PGPASSWORD]);
  const checks = selectChecks(allChecks(), parseIdList(args.only), parseIdList(args.skip));
  const report: Report = await runChecks({
    targets,
    checks,
    limits: {
      connectTimeoutMs: seconds('connect-timeout', args['connect-timeout']),
      statementTimeoutMs: seconds('statement-timeout', args['statement-timeout']),
      lockTimeoutMs: seconds('lock-timeout', args['lock-timeout']),
    },
    options: { synapseVersion: args['synapse-version'], thorough: args.thorough },
  });
  const out =
    args.format === 'json'
      ? JSON.stringify(jsonReport(report), null, 2) + '\n'
      : textReport(report, { color: useColor(args, io), quiet: args.quiet });
  if (out.trim()) io.stdout(redact(out, secrets));
  return exitCodeFor(report, failOn);
}

function listCommand(args: { format: Format }, io: Io): number {
  const checks = allChecks();
  if (args.format === 'json') {
    io.stdout(JSON.stringify(checks.map((c) => ({ id: c.id, title: c.title, description: c.description, tags: c.tags ?? [] })), null, 2) + '\n');
  } else {
    const width = Math.max(...checks.map((c) => c.id.length));
    io.stdout(checks.map((c) => `${c.id.padEnd(width)}  ${c.title}`).join('\n') + '\n');
  }
  return EXIT.ok;
}

function explainCommand(id: string, io: Io): number {
  const check = findCheck(allChecks(), id);
  io.stdout(`${check.id}: ${check.title}\n\n${check.description}\n\n${check.docs.trim()}\n`);
  return EXIT.ok;
}

function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '--format=json' || a === '-f=json' || ((a === '--format' || a === '-f') && argv[i + 1] === 'json'));
}

/** Parses argv and runs the command; returns the exit code instead of exiting, for tests. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  // Known before parsing, so that a usage error in a JSON run still comes out as JSON.
  let format: Format = wantsJson(argv) ? 'json' : 'text';
  const helpText: string[] = [];
  try {
    const parser = yargs(argv)
      .scriptName('pg-preflight')
      .usage('$0 [command] [options]\n\nChecks a PostgreSQL database before Synapse (or any application) starts on it, and prints the fix.')
      .command(
        ['check', '$0'],
        'Run the checks (the default command)',
        (y) => withCommonOptions(y),
        async (args) => {
          format = args.format as Format;
          code = await runCheckCommand(args as unknown as CommonArgs, io);
        },
      )
      .command('list', 'List the checks', (y) => y.option('format', { choices: ['text', 'json'] as const, default: 'text' as Format }), (args) => {
        code = listCommand(args as { format: Format }, io);
      })
      .command('explain <id>', 'Explain what a check looks at and how to fix what it finds', (y) => y.positional('id', { type: 'string', demandOption: true }), (args) => {
        code = explainCommand(String(args.id), io);
      })
      .command('demo', 'Start a throwaway PostgreSQL, break a Synapse-like database, check it, fix it, check again', (y) => y.option('color', { type: 'boolean', default: true }), async (args) => {
        code = await runDemo({ color: useColor(args as { color: boolean }, io), write: io.stdout });
      })
      .strict()
      .help()
      .version(false)
      .wrap(Math.min(110, process.stdout.columns || 100))
      .exitProcess(false)
      .fail((msg, err) => {
        if (err) throw err;
        throw usageError('usage', `${msg}; run "pg-preflight --help" for the usage`);
      });
    // Help goes to our stdout, so tests and pipes see it like any other output.
    await parser.parseAsync(argv, {}, (_err, _argv, output) => {
      if (output) helpText.push(output);
    });
    if (helpText.length > 0) io.stdout(helpText.join('\n') + '\n');
  } catch (err) {
    if (err instanceof PreflightError) {
      if (format === 'json') io.stdout(JSON.stringify(jsonErrorReport(err), null, 2) + '\n');
      else io.stderr(renderError(err, new Chalk({ level: io.isTTY && !io.env.NO_COLOR ? 1 : 0 })) + '\n');
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`pg-preflight: internal error: ${redact(message, [io.env.PGPASSWORD ?? ''].filter((s) => s.length >= 3))}\nThis is a bug in pg-preflight; please report it with the command you ran.\n`);
    return EXIT.internal;
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
