import { SYNAPSE_SEQUENCES, type SynapseSequence } from '../synapse/sequences.js';
import type { CheckContext } from '../types.js';
import { defaultLockBudget } from './batches.js';

/**
 * The Synapse sequences this database should hold: none unless it is a Synapse database (a
 * homeserver.yaml target, or a schema_version table); with `databases:`, only those of the data
 * stores configured on it (state_group_id_seq lives with "state", the rest with "main").
 */
export function synapseSequencesFor(ctx: Pick<CheckContext, 'target' | 'facts'>): SynapseSequence[] {
  if (!ctx.target.synapse && !ctx.facts.isSynapse) return [];
  const stores = ctx.target.synapse?.dataStores ?? ['main', 'state'];
  return SYNAPSE_SEQUENCES.filter((s) => stores.includes(s.store));
}

export function lockBudgetFor(ctx: Pick<CheckContext, 'facts' | 'params'>): number {
  const set = Number(ctx.params['lock-budget'] ?? 0);
  return set > 0 ? set : defaultLockBudget(ctx.facts);
}
