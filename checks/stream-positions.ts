import { defineCheck } from '../src/define-check.js';
import { effectiveLastValue, jsonInteger } from '../src/sequences/drift.js';
import { deleteStreamPositionsSql, displayName, fixSetval, streamPositionsCatchUp, type SequenceName } from '../src/sequences/remediation.js';
import { lockBudgetFor, synapseSequencesFor } from '../src/sequences/scope.js';
import { readSequenceStates, type SequenceState } from '../src/sequences/state.js';
import { optionalTableJson, parseOptionalTable } from '../src/optional-table.js';
import type { Finding, Remediation } from '../src/types.js';

interface PositionRow {
  stream_name: string;
  instance_name: string;
  stream_id: string;
}

// The table and its rows in one statement (optional-table.ts): reading the rows after the lookup
// was a round trip of its own, the last of a full check.
const TABLE_SQL = `
SELECT n.nspname AS schema, c.relname AS name, has_table_privilege(c.oid, 'SELECT') AS readable,
       (SELECT count(*)::int FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
       ${optionalTableJson('stream_positions', "SELECT json_agg(json_build_object('stream_name', stream_name, 'instance_name', instance_name, 'stream_id', stream_id::text) ORDER BY stream_name, instance_name) FROM stream_positions")} AS positions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = to_regclass('stream_positions')`;

function remediation(seq: SequenceState, table: SequenceName, stream: string, setval: string): Remediation[] {
  const name = displayName(seq.schema, seq.name);
  return [
    { kind: 'sql', title: `Preferred: advance ${name} past the highest position (once; it never lowers the sequence)`, text: setval },
    {
      kind: 'text',
      text:
        `Why the setval is preferred: the positions are stream ids that writers already handed out and persisted, and clients and workers may have seen them. ` +
        `Moving the sequence past them means no id is handed out twice, and gaps in stream ids are harmless. ` +
        `Synapse's own workaround (below) throws the positions away instead: it needs Synapse and every worker stopped first, ` +
        `and by Synapse's own account it may have to be repeated at every restart while the sequence stays behind.`,
    },
    {
      kind: 'sql',
      title: `Synapse's own workaround (from its error message): stop Synapse and ALL workers first; it may need repeating after every restart`,
      text: deleteStreamPositionsSql(table, stream),
    },
  ];
}

export default defineCheck({
  id: 'stream-positions',
  title: 'stream_positions is not ahead of its sequences',
  description: "No stream's highest position in stream_positions is past the last value of the stream's sequence (Synapse refuses to start otherwise).",
  tags: ['synapse', 'sequences'],
  fixes: ['sequence-advance'],
  params: {
    'lock-budget': {
      type: 'integer',
      default: 0,
      description: "Locks one batch of reads may hold before releasing them; 0 means a quarter of the server's shared lock table",
    },
  },
  docs: `Synapse's stream writers record, per stream and per writer process (instance_name: "master"
or a worker's name), the last stream id they persisted in stream_positions. At every start,
every process compares the highest position of each stream with the last value of the stream's
sequence (last value - 1 while is_called is false) and, when the position is ahead, refuses to
start with IncorrectDatabaseSetup ("Postgres sequence ... is inconsistent with the stream
position"). This is the one sequence error Synapse still treats as fatal (since 1.26). It
happens when the sequence lost its last values, for example after a PostgreSQL failover
(Synapse issue #18544: sequences came back up to 32 below the positions on four streams).
The comparison is Synapse's own, quirks included: the backfill stream stores its positions
negated, and Synapse compares the raw maximum, so backfill never trips it (a stricter
comparison by magnitude is shown as info). Every instance's row is shown.
Fix, preferred: advance the sequence past the highest position with the printed setval (it
never lowers a sequence), or run "pg-preflight fix --apply". Synapse's own workaround is to stop
Synapse and all workers and DELETE the stream's rows from stream_positions; Synapse says it may
have to be repeated at every restart, and it discards what the writers recorded.`,
  codes: {
    'positions-ok': { status: 'ok', summary: 'No stream position is ahead of its sequence.' },
    'no-stream-positions': { status: 'ok', summary: 'No stream_positions table (Synapse before 1.21).' },
    'not-main-store': { status: 'skipped', summary: 'Not a Synapse main data store: it has no stream sequences.' },
    'table-unreadable': { status: 'skipped', summary: 'No SELECT privilege on stream_positions.' },
    'sequence-unreadable': { status: 'skipped', summary: 'A stream sequence could not be read.' },
    'position-ahead': { status: 'error', summary: 'A stream position is ahead of its sequence: Synapse refuses to start.', remediation: ['sql', 'text'], fixable: true },
    'backfill-magnitude': { status: 'info', summary: 'Backfill positions exceed the sequence by magnitude; Synapse does not object.' },
  },
  async run(ctx) {
    const catalogue = synapseSequencesFor(ctx);
    if (!catalogue.some((s) => s.streamName !== undefined)) return { code: 'not-main-store', status: 'skipped', message: 'not a Synapse database holding the main data store: it has no stream sequences' };
    // The sequences are read at the same time as the table is looked up (one round trip instead
    // of three one after the other); without the table their states are simply not used.
    // The catalog is asked exactly as sequence-drift asks it (all of Synapse's sequences and the
    // owned ones), so that a full check reads it once; only the stream sequences are then read.
    const reading = readSequenceStates(ctx.query, ctx.facts, {
      catalogue,
      owned: true,
      extremes: false,
      thorough: false,
      unindexedRowLimit: 0,
      lockBudget: lockBudgetFor(ctx),
      keep: (s) => s.synapse?.streamName !== undefined,
    });
    reading.catch(() => undefined); // handled now; a failure is thrown again where the states are used
    const [table] = await ctx.query<{ schema: string; name: string; readable: boolean; indexes: number; positions: string | null }>(TABLE_SQL);
    // Without the table the states are not needed, but no query of a check outlives it.
    if (!table?.readable) await reading.catch(() => undefined);
    // Synapse before 1.21 (schema 58) had no stream_positions: nothing can be ahead yet, and the
    // upgrade creates it from the sequences.
    if (!table) return { code: 'no-stream-positions', status: 'ok', message: 'no stream_positions table (Synapse before 1.21): no stream position can be ahead of its sequence' };
    const tableName = displayName(table.schema, table.name);
    if (!table.readable) return { code: 'table-unreadable', status: 'skipped', message: `no SELECT privilege on ${tableName}` };
    const read = parseOptionalTable<PositionRow[]>(table.positions, []);
    const rows = read.state === 'ok' ? read.value : [];
    const { states } = await reading;
    const findings: Finding[] = [];
    let compared = 0;
    for (const s of states) {
      const stream = s.synapse!.streamName!;
      const positions = rows.filter((r) => r.stream_name === stream).map((r) => ({ instance: r.instance_name, streamId: BigInt(r.stream_id) }));
      if (positions.length === 0) continue;
      const name = displayName(s.schema, s.name);
      if (s.unreadable) {
        findings.push({ code: 'sequence-unreadable', status: 'skipped', object: name, message: `${name} could not be read: ${s.unreadable}` });
        continue;
      }
      compared++;
      const effective = effectiveLastValue({ lastValue: s.lastValue!, isCalled: s.isCalled!, increment: s.increment });
      const highest = positions.reduce((m, p) => (p.streamId > m ? p.streamId : m), positions[0]!.streamId);
      const shown = positions.map((p) => `${p.instance} ${p.streamId}`).join(', ');
      const baseDetails = {
        stream,
        sequence: name,
        lastValue: jsonInteger(s.lastValue),
        isCalled: s.isCalled,
        effectiveLastValue: jsonInteger(effective),
        maxPosition: jsonInteger(highest),
        instances: positions.map((p) => ({ instance: p.instance, streamId: jsonInteger(p.streamId) })),
      };
      // Synapse: `if max_in_stream_positions and max_in_stream_positions > last_value` on the raw
      // MAX(stream_id); a 0 maximum never trips, and neither do backfill's negated positions.
      if (highest !== 0n && highest > effective) {
        const fix = streamPositionsCatchUp(s, table, stream, 1 + table.indexes, `${name}: last value ${effective}, stream "${stream}" is at ${highest} in ${tableName} (gap ${highest - effective})`);
        findings.push({
          code: 'position-ahead', status: 'error',
          object: name,
          message:
            `stream "${stream}" is at ${highest} in ${tableName} (${shown}), ahead of ${name} (last value ${effective}${s.isCalled ? '' : ', not yet handed out'}; gap ${highest - effective}): ` +
            `Synapse refuses to start (IncorrectDatabaseSetup: the sequence is inconsistent with the stream position)`,
          details: { ...baseDetails, gap: jsonInteger(highest - effective) },
          remediation: remediation(s, table, stream, fixSetval(fix).sql),
          fix,
        });
        continue;
      }
      const magnitude = positions.reduce((m, p) => (-p.streamId > m ? -p.streamId : m), 0n);
      if (stream === 'backfill' && magnitude > effective) {
        findings.push({
          code: 'backfill-magnitude', status: 'info',
          object: name,
          message:
            `backfill positions reach ${-magnitude} (${shown}), beyond ${name} at ${effective} by magnitude; Synapse stores backfill positions negated and compares the raw maximum, ` +
            `so it does not object. This comparison is stricter than Synapse's`,
          details: { ...baseDetails, magnitude: jsonInteger(magnitude) },
        });
      }
    }
    const errors = findings.filter((f) => f.status === 'error').length;
    findings.unshift({
      code: 'positions-ok', status: 'ok',
      message: compared === 0 ? `${tableName} has no positions for the streams whose sequences are here` : `${compared} stream${compared === 1 ? '' : 's'} compared with ${tableName}${errors ? `; ${errors} ahead of their sequence` : ': no position is ahead of its sequence'}`,
      details: { streams: compared, ahead: errors },
    });
    return findings;
  },
});
