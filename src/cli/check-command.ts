import { BUILTIN_CHECKS } from '../../checks/index.js';
import { isFleet } from '../config/fleet.js';
import { expandAllDatabases } from '../all-databases.js';
import { parseJobs, resolveNamedTargets } from '../run-targets.js';
import { readLocalHostMemory } from '../host-memory.js';
import { coerceParam } from '../params.js';
import { exitCodeFor, parseFailOn, preparePreflight, runPrepared } from '../preflight.js';
import { redact, secretsOf } from '../redact.js';
import { parseIdList } from '../registry.js';
import { loadRules } from '../rules/load.js';
import type { ParamValues } from '../types.js';
import { limitsFrom, waitFrom, type CheckArgs } from './common-options.js';
import { sqliteSnapshotSource } from '../sqlite/snapshot.js';
import { isReleaseNumber } from '../synapse/releases.js';
import { usageError } from '../errors.js';
import { synapseProcesses } from '../connection-diagnosis/synapse-processes.js';
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
  const params: Record<string, ParamValues> = {};
  const hostMemoryCheck = BUILTIN_CHECKS.find((c) => c.id === 'memory-settings');
  if (args['db-host-memory'] !== undefined && hostMemoryCheck?.params?.host_memory) {
    // --set memory-settings.host_memory, when also given, is the more specific and wins.
    params['memory-settings'] = { host_memory: coerceParam('--db-host-memory', hostMemoryCheck.params.host_memory, args['db-host-memory']) };
  }
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
  const report = await runPrepared(prepared, {
    limits,
    jobs,
    options: {
      synapseVersion,
      thorough: args.thorough,
      localHostMemory: readLocalHostMemory(),
      // Many homeservers: each target's own config says what connects to it (connection-budget).
      synapseProcesses: isFleet(fleet) ? undefined : synapseProcesses({ configPaths: args.config ?? [], targets, workerConfigs: args['worker-config'] ?? [], workers: args.workers, env: io.env }),
      ...(args['sqlite-database'] ? { sqliteDatabase: sqliteSnapshotSource(args['sqlite-database']) } : {}),
    },
    wait,
    onProgress: (p) => shown.update(p),
  }).finally(() => shown.stop());
  await writeReports(report, outputs, { io, secrets, checks: prepared.checks, failOn, color: useColor(args, io), quiet: args.quiet });
  return exitCodeFor(report, failOn);
}
