import { BUILTIN_CHECKS } from '../../checks/index.js';
import { resolveTargets } from '../config/resolve.js';
import { exitCodeFor, parseFailOn, preparePreflight, runPrepared } from '../preflight.js';
import { redact, secretsOf } from '../redact.js';
import { parseIdList } from '../registry.js';
import { loadRules } from '../rules/load.js';
import { gatherInputs, paramsFromFlags } from './check-inputs.js';
import { limitsFrom, waitFrom, type CheckArgs } from './common-options.js';
import { isReleaseNumber } from '../synapse/releases.js';
import { usageError } from '../errors.js';
import { useColor, type Io } from './io.js';
import { startProgress } from './progress.js';
import { planOutputs, writeReports } from './report-output.js';

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  // The CLI is the one place that knows the working directory; the library takes it as a parameter.
  const cwd = process.cwd();
  const rulesFile = loadRules({ path: args.rules, cwd });
  const failOn = parseFailOn(args['fail-on'] ?? rulesFile?.failOn ?? 'error');
  const outputs = planOutputs(args);
  const synapseVersion = args['synapse-version'];
  if (synapseVersion !== undefined && !isReleaseNumber(synapseVersion)) {
    throw usageError('usage', `--synapse-version ${JSON.stringify(synapseVersion)} is not a Synapse release number such as 1.157.1`);
  }
  const { targets } = resolveTargets({ dsn: args.dsn, configPaths: args.config, env: io.env });
  const secrets = secretsOf(targets, [io.env.PGPASSWORD]);
  // --set id.name, when also given, is the more specific and wins over a param's own flag.
  const params = paramsFromFlags(BUILTIN_CHECKS, args);
  const inputs = gatherInputs(args, io, targets);
  const prepared = await preparePreflight({
    targets,
    cwd,
    rulesFile,
    plugins: (args.plugin ?? []).map((module) => ({ module, baseDir: cwd, from: '--plugin' })),
    only: parseIdList(args.only),
    skip: parseIdList(args.skip),
    set: args.set,
    params,
  });
  // stdout being a terminal is what Io knows; machine formats and --quiet never get a spinner.
  const progress = startProgress(io, io.isTTY && args.format === 'text' && !args.quiet);
  const report = await runPrepared(prepared, {
    limits: limitsFrom(args),
    options: { synapseVersion, thorough: args.thorough },
    inputs,
    wait: waitFrom(args, args.quiet ? undefined : (note) => progress.note(redact(`pg-preflight: ${note}`, secrets))),
    onProgress: (p) => progress.update(p),
  }).finally(() => progress.stop());
  await writeReports(report, outputs, { io, secrets, checks: prepared.checks, failOn, color: useColor(args, io), quiet: args.quiet });
  return exitCodeFor(report, failOn);
}
