// The Synapse processes that will connect and the pools each opens, for the connection-budget
// check. A worker is started with the shared homeserver.yaml plus its own file, merged the way
// Synapse merges config files: top-level keys only, so a worker file that has database: (or
// databases:) replaces the whole section, and one that has not uses the shared one as it is.
import { basename } from 'node:path';
import { libpqArgs, loadHomeserverConfig, synapseDatabases } from '../config/homeserver.js';
import { normalizeKeywords, resolveConnection } from '../config/libpq.js';
import type { DatabaseTarget } from '../config/target.js';
import { usageError } from '../errors.js';
import type { SynapsePool, SynapseProcess } from '../types.js';
import { serverKey, targetServerKey } from './synapse-args.js';

export interface ProcessInput {
  /** --config paths of the main process (empty with --dsn alone). */
  configPaths: string[];
  /** The main process's databases, as pg-preflight resolved them. */
  targets: DatabaseTarget[];
  /** --worker-config files. */
  workerConfigs: string[];
  /** --workers N: more workers that use the shared config as it is (0 given counts: main alone). */
  workers?: number;
  env: NodeJS.ProcessEnv;
}

/** Where a database section connects, resolved like Synapse's libpq would (environment, defaults), never from --dsn. */
function sectionServer(args: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  const keywords = normalizeKeywords(libpqArgs(args));
  return serverKey(keywords, resolveConnection({ explicit: [{ keywords, passwordSource: 'config' }], env }));
}

function mainPools(targets: DatabaseTarget[], env: NodeJS.ProcessEnv): SynapsePool[] {
  return targets.map((t) => ({
    label: t.label,
    server: t.synapse ? sectionServer(t.synapse.args, env) : targetServerKey(t),
    cpMin: t.synapse?.cpMin,
    cpMax: t.synapse?.cpMax,
  }));
}

function workerProcess(file: string, input: ProcessInput, shared: SynapsePool[]): SynapseProcess {
  const cfg = loadHomeserverConfig([...input.configPaths, file]);
  const name = typeof cfg.merged.worker_name === 'string' ? cfg.merged.worker_name : basename(file);
  // Synapse canonicalises this worker_app to None: the main process (synapse/config/workers.py).
  const app = cfg.merged.worker_app;
  const worker = typeof app === 'string' && app !== 'synapse.app.homeserver' ? { workerApp: app } : {};
  const own = cfg.sectionFile.database === file || cfg.sectionFile.databases === file;
  if (!own) {
    if (shared.length === 0) throw usageError('config-worker', `worker file ${file} has no database section and there is no main config to inherit one from: give --config too`);
    return { name, file, ...worker, pools: shared.map((p) => ({ ...p })) };
  }
  const pools = synapseDatabases(cfg).map((entry): SynapsePool => ({
    label: entry.label,
    server: sectionServer(entry.args, input.env),
    cpMin: entry.cpMin,
    cpMax: entry.cpMax,
    ownSection: true,
  }));
  return { name, file, ...worker, pools };
}

/** Undefined when nothing beyond the targets is known (no config, no worker flags). */
export function synapseProcesses(input: ProcessInput): SynapseProcess[] | undefined {
  const workers = input.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw usageError('usage', `--workers must be a whole number of worker processes, not ${input.workers}`);
  if (input.configPaths.length === 0 && input.workerConfigs.length === 0 && input.workers === undefined) return undefined;
  const shared = mainPools(input.targets, input.env);
  const processes: SynapseProcess[] = [{ name: 'main', pools: shared }];
  for (const file of input.workerConfigs) processes.push(workerProcess(file, input, shared));
  for (let i = 1; i <= workers; i++) processes.push({ name: `worker ${processes.length}`, pools: shared.map((p) => ({ ...p })) });
  return processes;
}
