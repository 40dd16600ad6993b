// The typed fixes a finding may carry for `pg-preflight fix`. A check (built in or a plugin)
// attaches one to each finding it knows how to repair; `fix` runs the checks that declare a kind
// in `Check.fixes` and applies what their findings carry, without knowing any check by its id.

/**
 * Move a sequence forward until it covers every value in `covers`; never backwards. `fix` sets it
 * to GREATEST (LEAST counting down) of the sequence's own value and `covers`, computed while it
 * holds the sequence's lock.
 */
export interface SequenceAdvanceFix {
  kind: 'sequence-advance';
  /** The sequence's schema and name, unquoted. */
  schema: string;
  sequence: string;
  /** Counts up (increment > 0). A descending sequence must reach the smallest value instead. */
  ascending: boolean;
  /**
   * Scalar SQL expressions for what the sequence must reach, each a subquery such as
   * `(SELECT max("id") FROM "public"."t")`, NULL when there is nothing to cover. Every name in
   * them is quoted (src/quote.ts).
   */
  covers: string[];
  /**
   * Locks evaluating `covers` takes (each table read and each of its indexes), so that `fix` can
   * batch its reads within the server's lock table. 1 per expression when unknown.
   */
  lockWeight?: number;
  /** One line for the plan: what is wrong, with the numbers. */
  summary: string;
}

/** Every kind of fix; one today. */
export type Fix = SequenceAdvanceFix;
export type FixKind = Fix['kind'];
export const FIX_KINDS: readonly FixKind[] = ['sequence-advance'];
