// The SQL that moves a sequence past its rows: always GREATEST with the sequence's own
// last_value (LEAST counting down), so that running it can never move a sequence backwards, and
// every name quoted, so that it works pasted into psql whatever the names are.
import type { SequenceAdvanceFix } from '../fix-types.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../quote.js';
import { extremeSql, type ColumnState, type SequenceState } from './state.js';
import { isAscending } from './drift.js';

export interface SequenceName {
  schema: string;
  name: string;
}

const PLAIN = /^[a-z_][a-z0-9_$]*$/;

/** schema.name for messages: a part is quoted only when it would not read back as itself. */
export function displayName(schema: string, name: string, ...more: string[]): string {
  const part = (p: string) => (PLAIN.test(p) ? p : quoteIdent(p));
  return [schema, name, ...more].map(part).join('.');
}

/** A column's value in the form the sequence must reach, as a scalar subquery. */
export function columnSourceSql(c: Pick<ColumnState, 'schema' | 'table' | 'column' | 'aggregate'>): string {
  switch (c.aggregate) {
    case 'negated-min':
      // Backfill streams count downwards: the sequence must reach the table's minimum, negated.
      return `(SELECT -min(${quoteIdent(c.column)}) FROM ${quoteQualified(c.schema, c.table)})`;
    case 'numeric-localpart':
      // setval takes a bigint; the localparts are compared as numbers, as Synapse's int() does.
      return `${extremeSql(c)}::bigint`;
    default:
      return extremeSql(c);
  }
}

/** The value the sequence must reach, never behind its own last_value: what setval is given. */
export interface SetvalStatement {
  /** `SELECT setval('<seq>', GREATEST((SELECT last_value FROM <seq>), <sources>));`, to paste. */
  sql: string;
  /** Its second argument alone, for `fix --apply`, which sets the same value transactionally. */
  valueSql: string;
  ascending: boolean;
}

/**
 * `SELECT setval('<seq>', GREATEST((SELECT last_value FROM <seq>), <sources>));` (LEAST for a
 * descending sequence). The two-argument setval marks the value as handed out, so the next
 * nextval returns the one after it.
 */
export function setvalStatement(seq: SequenceName, ascending: boolean, sources: string[]): SetvalStatement {
  const qualified = quoteQualified(seq.schema, seq.name);
  const valueSql = `${ascending ? 'GREATEST' : 'LEAST'}((SELECT last_value FROM ${qualified}), ${sources.join(', ')})`;
  return { sql: `SELECT setval(${quoteLiteral(qualified)}, ${valueSql});`, valueSql, ascending };
}

/** The setval a finding prints for its fix: the same statement `fix` shows in its plan. */
export function fixSetval(fix: SequenceAdvanceFix): SetvalStatement {
  return setvalStatement({ schema: fix.schema, name: fix.sequence }, fix.ascending, fix.covers);
}

/** Moves the sequence past every row of every column it feeds (those that were read). */
export function catchUp(s: SequenceState, summary: string): SequenceAdvanceFix {
  const read = s.columns.filter((c) => !c.unread);
  return {
    kind: 'sequence-advance',
    schema: s.schema,
    sequence: s.name,
    ascending: isAscending(s),
    covers: read.map(columnSourceSql),
    lockWeight: read.reduce((sum, c) => sum + c.lockWeight, 0),
    summary,
  };
}

/** `lockWeight`: stream_positions and its indexes. */
export function streamPositionsCatchUp(seq: SequenceName, streamPositions: SequenceName, streamName: string, lockWeight: number, summary: string): SequenceAdvanceFix {
  return {
    kind: 'sequence-advance',
    schema: seq.schema,
    sequence: seq.name,
    ascending: true,
    covers: [`(SELECT max(stream_id) FROM ${quoteQualified(streamPositions.schema, streamPositions.name)} WHERE stream_name = ${quoteLiteral(streamName)})`],
    lockWeight,
    summary,
  };
}

export function deleteStreamPositionsSql(streamPositions: SequenceName, streamName: string): string {
  return `DELETE FROM ${quoteQualified(streamPositions.schema, streamPositions.name)} WHERE stream_name = ${quoteLiteral(streamName)};`;
}
