import { BUILTIN_CHECKS } from '../../checks/index.js';
import { isFleet } from '../config/fleet.js';
import { expandAllDatabases } from '../all-databases.js';
import { parseJobs, resolveNamedTargets } from '../run-targets.js';
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
import { planOutputs, preloadReporters, writeReports } from './report-output.js';
import type { SessionAhead } from '../session-ahead.js';

export async function checkCommand(args: CheckArgs, io: Io, ahead?: SessionAhead): Promise<number> {
  // The CLI is the one place that knows the working directory; the library takes it as a parameter.
  const cwd = process.cwd();
  const rulesFile = loadRules({ path: args.rules, cwd });
  const failOn = parseFailOn(args['fail-on'] ?? rulesFile?.failOn ?? 'error');
  const outputs = planOutputs(args);
  const synapseVersion = args['synapse-version'];
  if (synapseVersion !== undefined && !isReleaseNumber(synapseVersion)) {
    throw usageError('usage', `--synapse-version ${JSON.stringify(synapseVersion)} is not a Synapse release number such as 1.157.1`);
  }
  const jobs = parseJobs(args.jobs);
  const fleet = { dsns: args.dsn, configPaths: args.config, homeservers: args.homeserver, env: io.env };
  if (isFleet(fleet) && (args['worker-config'] !== undefined || args.workers !== undefined)) {
    throw usageError('usage', '--worker-config and --workers describe the processes of one homeserver: give that homeserver with --config alone');
  }
  // The --wait deadline starts here: --all-databases logs in to list databases before the run.
  let progress: ReturnType<typeof startProgress> | undefined;
  const waitNote = (note: string) => {
    const line = redact(`pg-preflight: ${note}`, secrets);
    if (progress) progress.note(line);
    else io.stderr(`${line}\n`);
  };
  const wait = waitFrom(args, args.quiet ? undefined : waitNote);
  if (wait) wait.deadline = Date.now() + wait.timeoutMs;
  const limits = limitsFrom(args);
  const named = resolveNamedTargets({ ...fleet, allDatabases: args['all-databases'] });
  const secrets = secretsOf(named, [io.env.PGPASSWORD]);
  const targets = args['all-databases'] ? await expandAllDatabases(named, limits, wait) : named;
  // --set id.name, when also given, is the more specific and wins over a param's own flag.
  const params = paramsFromFlags(BUILTIN_CHECKS, args);
  // Many homeservers: each target's own config says what connects to it (connection-budget).
  const inputs = gatherInputs(args, io, targets, { oneHomeserver: !isFleet(fleet) });
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
  progress = startProgress(io, io.isTTY && args.format === 'text' && !args.quiet);
  const shown = progress;
  let preloading = false;
  const report = await runPrepared(prepared, {
    limits,
    jobs,
    options: { synapseVersion, thorough: args.thorough },
    inputs,
    wait,
    ahead,
    onProgress: (p) => {
      shown.update(p);
      // The first check done means the others have sent their queries (the batcher sends them
      // from an earlier setImmediate): the reporters load while the server works on them.
      if (p.done > 0 && !preloading) {
        preloading = true;
        setImmediate(() => preloadReporters(outputs));
      }
    },
  }).finally(() => shown.stop());
  await writeReports(report, outputs, { io, secrets, checks: prepared.checks, failOn, color: useColor(args, io), quiet: args.quiet });
  return exitCodeFor(report, failOn);
}
