// Whether a sequence is behind the rows already in its tables, by the rule Synapse's
// check_consistency applies (synapse/storage/util/sequence.py), generalised to any increment.
import type { ColumnState, SequenceState } from './state.js';

export function isAscending(s: Pick<SequenceState, 'increment'>): boolean {
  return s.increment > 0n;
}

/**
 * The last value the sequence has handed out: last_value once is_called, else one step before it
 * (after setval(..., false) or ALTER SEQUENCE ... RESTART, as synapse_port_db leaves them, nextval
 * returns last_value itself). For an increment of 1 this is Synapse's `last_value - 1`.
 */
export function effectiveLastValue(s: Required<Pick<SequenceState, 'lastValue' | 'isCalled' | 'increment'>>): bigint {
  return s.isCalled ? s.lastValue : s.lastValue - s.increment;
}

export interface Drift {
  effective: bigint;
  /** The largest value in the tables (smallest for a descending sequence); null when all are empty. */
  bound: bigint | null;
  /** The column holding `bound`. */
  boundColumn?: ColumnState;
  /** How far the sequence is behind (positive), 0 when it is not. */
  gap: bigint;
  behind: boolean;
  /** The tables hold a value the sequence cannot reach (past its MAXVALUE, or MINVALUE counting down). */
  outOfRange: boolean;
}

/** Needs the sequence's value read (not `unreadable`). */
export function driftOf(s: SequenceState): Drift {
  const effective = effectiveLastValue({ lastValue: s.lastValue!, isCalled: s.isCalled!, increment: s.increment });
  const up = isAscending(s);
  let bound: bigint | null = null;
  let boundColumn: ColumnState | undefined;
  for (const c of s.columns) {
    if (c.bound === undefined || c.bound === null) continue;
    if (bound === null || (up ? c.bound > bound : c.bound < bound)) {
      bound = c.bound;
      boundColumn = c;
    }
  }
  const behind = bound !== null && (up ? bound > effective : bound < effective);
  const gap = !behind || bound === null ? 0n : up ? bound - effective : effective - bound;
  const outOfRange = bound !== null && (up ? bound > s.maxValue : bound < s.minValue);
  return { effective, bound, boundColumn, gap, behind, outOfRange };
}

/** bigint for JSON: a number while it is exact, a decimal string beyond 2^53. */
export function jsonInteger(value: bigint | null | undefined): number | string | null {
  if (value === null || value === undefined) return null;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}
