import type { Argv } from 'yargs';
import { fixSequences } from '../fix.js';
import { fixJsonReport, fixTextReport } from '../fix-report.js';
import { parseSetFlags } from '../params.js';
import { loadPlugins } from '../plugins.js';
import { redact, secretsOf } from '../redact.js';
import { allChecks } from '../registry.js';
import { resolveTargets } from '../config/resolve.js';
import { limitsFrom, withConnectionOptions, type ConnectionArgs, type Format } from './common-options.js';
import { useColor, type Io } from './io.js';

export interface FixArgs extends ConnectionArgs {
  format: Format;
  color: boolean;
  apply: boolean;
  force: boolean;
  set?: string[];
  plugin?: string[];
  thorough: boolean;
}

export function withFixOptions<T>(y: Argv<T>) {
  return withConnectionOptions(y)
    .option('apply', { type: 'boolean', default: false, describe: 'Run the plan, each sequence locked against writers while it is set (without it, only show it)', group: 'Fix:' })
    .option('force', { type: 'boolean', default: false, describe: 'Apply even while other sessions are connected to the database', group: 'Fix:' })
    .option('set', { type: 'string', array: true, describe: 'Set a check param: check-id.param=value', group: 'Fix:' })
    .option('plugin', { type: 'string', array: true, describe: 'Load checks from a module (as check --plugin); those that declare fixes are applied too', group: 'Fix:' })
    .option('thorough', { type: 'boolean', default: false, describe: 'Read table maxima even without an index (slow on large tables)', group: 'Fix:' })
    .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as Format, describe: 'Output format', group: 'Output:' })
    .option('color', { type: 'boolean', default: true, describe: 'Colour text output', group: 'Output:' });
}

export async function fixCommand(args: FixArgs, io: Io): Promise<number> {
  const input = { dsn: args.dsn, configPaths: args.config, env: io.env };
  const secrets = secretsOf(resolveTargets(input).targets, [io.env.PGPASSWORD]);
  const plugins = await loadPlugins((args.plugin ?? []).map((module) => ({ module, baseDir: process.cwd(), from: '--plugin' })));
  const report = await fixSequences({
    ...input,
    apply: args.apply,
    force: args.force,
    limits: limitsFrom(args),
    options: { thorough: args.thorough },
    params: parseSetFlags(args.set ?? [], allChecks(plugins)),
    checks: plugins,
  });
  const out = args.format === 'json' ? JSON.stringify(fixJsonReport(report), null, 2) + '\n' : fixTextReport(report, { color: useColor(args, io) });
  io.stdout(redact(out, secrets));
  return report.exitCode;
}
