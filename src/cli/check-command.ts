import { resolveTargets } from '../config/resolve.js';
import { exitCodeFor, parseFailOn, preparePreflight, runPrepared } from '../preflight.js';
import { redact, secretsOf } from '../redact.js';
import { parseIdList } from '../registry.js';
import { jsonReport } from '../reporters/json.js';
import { textReport } from '../reporters/text.js';
import { loadRules } from '../rules/load.js';
import { limitsFrom, waitFrom, type CheckArgs } from './common-options.js';
import { useColor, type Io } from './io.js';
import { startProgress } from './progress.js';

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  // The CLI is the one place that knows the working directory; the library takes it as a parameter.
  const cwd = process.cwd();
  const rulesFile = loadRules({ path: args.rules, cwd });
  const failOn = parseFailOn(args['fail-on'] ?? rulesFile?.failOn ?? 'error');
  const { targets } = resolveTargets({ dsn: args.dsn, configPaths: args.config, env: io.env });
  const secrets = secretsOf(targets, [io.env.PGPASSWORD]);
  const prepared = await preparePreflight({
    targets,
    cwd,
    rulesFile,
    plugins: (args.plugin ?? []).map((module) => ({ module, baseDir: cwd, from: '--plugin' })),
    only: parseIdList(args.only),
    skip: parseIdList(args.skip),
    set: args.set,
  });
  // stdout being a terminal is what Io knows; machine formats and --quiet never get a spinner.
  const progress = startProgress(io, io.isTTY && args.format === 'text' && !args.quiet);
  const report = await runPrepared(prepared, {
    limits: limitsFrom(args),
    options: { synapseVersion: args['synapse-version'], thorough: args.thorough },
    wait: waitFrom(args, args.quiet ? undefined : (note) => progress.note(redact(`pg-preflight: ${note}`, secrets))),
    onProgress: (p) => progress.update(p),
  }).finally(() => progress.stop());
  const out =
    args.format === 'json'
      ? JSON.stringify(jsonReport(report), null, 2) + '\n'
      : textReport(report, { color: useColor(args, io), quiet: args.quiet });
  if (out.trim()) io.stdout(redact(out, secrets));
  return exitCodeFor(report, failOn);
}
