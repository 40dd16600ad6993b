// Loaded only for `pg-preflight fix`; its options live in common-options.ts, which --help needs.
import { fixSequences } from '../fix.js';
import { fixJsonReport, fixTextReport } from '../fix-report.js';
import { parseSetFlags } from '../params.js';
import { loadPlugins } from '../plugins.js';
import { redact, secretsOf } from '../redact.js';
import { allChecks } from '../registry.js';
import { resolveTargets } from '../config/resolve.js';
import { limitsFrom, type FixArgs } from './common-options.js';
import { useColor, type Io } from './io.js';

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
