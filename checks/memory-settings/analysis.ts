// memory-settings, the analysis: which settings count, what a default looks like, the host's
// memory and the worst case. No wording here: messages and steps are in wording.ts.
import { describeLocalReach, isOnThisHost } from '../../src/host-memory.js';
import type { CheckContext, Setting } from '../../src/types.js';
import { settingBytes } from '../../src/units.js';

export const MB = 1024 ** 2;
export const GB = 1024 ** 3;

/** The five settings the Synapse guide names, in its order, plus what multiplies work_mem. */
export const SIZE_SETTINGS = ['shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'autovacuum_work_mem'] as const;
export type SizeName = (typeof SIZE_SETTINGS)[number];

// initdb writes these two into postgresql.conf (it probes what the kernel allows, up to these), so
// pg_settings reports them as "configuration file", not "default", on a cluster nobody tuned.
export const INITDB_DEFAULTS: Record<string, string> = { shared_buffers: String(128 * MB), max_connections: '100' };

// pgtune's rules for a "web" server (le0pard/pgtune, src/features/configuration/configurationSlice.js),
// with maintenance_work_mem capped at 2GB as the Synapse guide's era of pgtune did: autovacuum
// workers each take that much when autovacuum_work_mem is -1.
export const MAINTENANCE_CAP = 2 * GB;
export const WORK_MEM_FLOOR = 4 * MB;

export interface HostMemory {
  bytes: number;
  source: string;
}

export function hostMemory(ctx: CheckContext): HostMemory | undefined {
  if (typeof ctx.params.host_memory === 'number') return { bytes: ctx.params.host_memory, source: 'given with --db-host-memory or memory-settings.host_memory' };
  const local = ctx.inputs.localHostMemory;
  if (local && isOnThisHost(ctx.target.connection)) {
    return { bytes: local.totalBytes, source: `MemTotal in ${local.source} of this machine, as the server is reached over ${describeLocalReach(ctx.target.connection)}` };
  }
  return undefined;
}

/** Where a setting's value comes from when nobody tuned it: the compiled-in default, initdb's, or neither. */
export function defaultKind(s: Setting): 'compiled-in' | 'initdb' | undefined {
  if (s.source === 'default' || (s.bootVal !== null && s.setting === s.bootVal)) return 'compiled-in';
  const bytes = settingBytes(s);
  const value = bytes === undefined ? s.setting : String(bytes);
  return INITDB_DEFAULTS[s.name] === value ? 'initdb' : undefined;
}

export function isDefault(s: Setting): boolean {
  return defaultKind(s) !== undefined;
}

export interface Values {
  shared_buffers: number;
  effective_cache_size: number;
  work_mem: number;
  maintenance_work_mem: number;
  /** undefined: -1, autovacuum uses maintenance_work_mem. */
  autovacuum_work_mem: number | undefined;
}

export interface Counts {
  maxConnections: number;
  autovacuumWorkers: number;
  workerProcesses: number;
}

/** A lower bound of the worst case: every connection sorting once, every autovacuum worker at its limit. */
export function worstCase(v: Values, n: Counts): number {
  return v.shared_buffers + n.maxConnections * v.work_mem + n.autovacuumWorkers * (v.autovacuum_work_mem ?? v.maintenance_work_mem);
}

export interface Change {
  name: SizeName;
  value: number;
  context: string;
}
