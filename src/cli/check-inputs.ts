// The host inputs checks may declare (Check.inputs), each read from the command line or the
// machine in one place; check-command fills them without knowing which check wants what.
import type { DatabaseTarget } from '../config/target.js';
import { synapseProcesses } from '../connection-diagnosis/synapse-processes.js';
import { readLocalHostMemory } from '../host-memory.js';
import { sqliteSnapshotSource } from '../sqlite/snapshot.js';
import type { Check, CheckInputs, InputName, ParamValues } from '../types.js';
import { coerceParam } from '../params.js';
import type { CheckArgs } from './common-options.js';
import type { Io } from './io.js';

interface Run {
  /** One homeserver (--config, or one --dsn): its --worker-config and --workers describe what connects. */
  oneHomeserver: boolean;
}

type Sources = { [K in InputName]: (args: CheckArgs, io: Io, targets: DatabaseTarget[], run: Run) => CheckInputs[K] };

const SOURCES: Sources = {
  localHostMemory: () => readLocalHostMemory(),
  // Opened (and its header checked, exit 2 on a bad file) whenever given, read only when a check asks.
  sqliteDatabase: (args) => (args['sqlite-database'] ? sqliteSnapshotSource(args['sqlite-database']) : undefined),
  synapseProcesses: (args, io, targets, run) =>
    !run.oneHomeserver ? undefined : synapseProcesses({ configPaths: args.config ?? [], targets, workerConfigs: args['worker-config'] ?? [], workers: args.workers, env: io.env }),
};

/** Every input the command line or this machine can give; the runner hands each check only those it declared. */
export function gatherInputs(args: CheckArgs, io: Io, targets: DatabaseTarget[], run: Run = { oneHomeserver: true }): CheckInputs {
  const inputs: CheckInputs = {};
  for (const name of Object.keys(SOURCES) as InputName[]) {
    const value = SOURCES[name](args, io, targets, run);
    if (value !== undefined) (inputs as Record<InputName, unknown>)[name] = value;
  }
  return inputs;
}

/** Params set by a flag of their own (ParamSpec.flag, e.g. --db-host-memory); --set, applied later, wins. */
export function paramsFromFlags(checks: readonly Check[], args: CheckArgs): Record<string, ParamValues> {
  const out: Record<string, ParamValues> = {};
  for (const check of checks) {
    for (const [name, spec] of Object.entries(check.params ?? {})) {
      const value = spec.flag ? (args as unknown as Record<string, unknown>)[spec.flag] : undefined;
      if (value === undefined) continue;
      out[check.id] = { ...out[check.id], [name]: coerceParam(`--${spec.flag}`, spec, value as string) };
    }
  }
  return out;
}
