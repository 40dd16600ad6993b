import { defineCheck } from '../src/define-check.js';
import { driftOf, isAscending, jsonInteger, type Drift } from '../src/sequences/drift.js';
import { catchUp, displayName, fixSetval } from '../src/sequences/remediation.js';
import { lockBudgetFor, synapseSequencesFor } from '../src/sequences/scope.js';
import { readSequenceStates, type ColumnState, type SequenceState } from '../src/sequences/state.js';
import { describeHolder, type LockHolder } from '../src/lock-holders.js';
import { groupDigits } from '../src/units.js';
import type { Finding, Remediation } from '../src/types.js';

const LIST_LIMIT = 10;

function columnName(c: ColumnState): string {
  return displayName(c.schema, c.table, c.column);
}

function columnLabel(c: ColumnState): string {
  const name = columnName(c);
  if (c.aggregate === 'negated-min') return `-MIN(${name})`;
  if (c.aggregate === 'numeric-localpart') return `numeric localparts of ${name}`;
  return name;
}

function sourceOf(s: SequenceState): string {
  return s.synapse && s.owned ? 'synapse+owned' : s.synapse ? 'synapse' : 'owned';
}

function listed(items: string[]): string {
  return items.length <= LIST_LIMIT ? items.join(', ') : `${items.slice(0, LIST_LIMIT).join(', ')} and ${items.length - LIST_LIMIT} more`;
}

function details(s: SequenceState, d: Drift): Record<string, unknown> {
  return {
    sequence: displayName(s.schema, s.name),
    source: sourceOf(s),
    tables: s.columns.map(columnLabel),
    lastValue: jsonInteger(s.lastValue),
    isCalled: s.isCalled,
    effectiveLastValue: jsonInteger(d.effective),
    [isAscending(s) ? 'tableMax' : 'tableMin']: jsonInteger(d.bound),
    gap: jsonInteger(d.gap),
    increment: jsonInteger(s.increment),
    columns: s.columns.map((c) => ({
      column: columnLabel(c),
      value: c.bound === undefined ? null : jsonInteger(c.bound),
      ...(c.unread ? { notRead: c.unread.code } : {}),
    })),
  };
}

/** What happens next, and what Synapse does about it (facts 2.3: auto-repair since 1.109). */
function consequence(s: SequenceState): string {
  const next = 'the next insert taking its id from it fails with a duplicate key';
  if (s.synapse?.checkedAtStartup) return `${next}; Synapse 1.109+ repairs this at startup (with a warning, first process only), older releases refuse to start`;
  return next;
}

function behindFinding(s: SequenceState, d: Drift): Finding {
  const name = displayName(s.schema, s.name);
  const where = d.boundColumn ? columnLabel(d.boundColumn) : 'its tables';
  const up = isAscending(s);
  const state = s.isCalled ? `last value ${s.lastValue}` : `last value ${s.lastValue}, not handed out yet (so ${d.effective} counts)`;
  const fix = catchUp(s, `${name}: last value ${d.effective}, ${where} holds ${d.bound} (gap ${d.gap})`);
  const { sql } = fixSetval(fix);
  if (s.synapse && !s.synapse.checkedAtStartup) {
    // user_id_seq: Synapse never compares it (facts 3.2), so this is information, not a failure.
    return {
      code: 'user-id-sequence-behind', status: 'info',
      object: name,
      message: `${name} is behind ${where}: ${state}, largest numeric user id ${d.bound} (gap ${d.gap}); Synapse never checks this sequence, and while it lags the numeric user ids Synapse generates (guests, registrations without a username) can collide with existing users`,
      details: details(s, d),
      remediation: [{ kind: 'sql', title: `Advance ${name} past the numeric user ids (never lowers it)`, text: sql }],
      fix,
    };
  }
  return {
    code: 'sequence-behind', status: 'error',
    object: name,
    message: `${name} is behind ${where}: ${state}, table ${up ? 'maximum' : 'minimum'} ${d.bound} (gap ${d.gap}); ${consequence(s)}`,
    details: details(s, d),
    remediation: [{ kind: 'sql', title: `Advance ${name} past every row of ${listed(s.columns.filter((c) => !c.unread).map(columnName))} (never lowers it)`, text: sql }],
    fix,
  };
}

function outOfRangeFinding(s: SequenceState, d: Drift): Finding {
  const name = displayName(s.schema, s.name);
  const up = isAscending(s);
  const limit = up ? `MAXVALUE ${s.maxValue}` : `MINVALUE ${s.minValue}`;
  return {
    code: 'sequence-cannot-catch-up', status: 'error',
    object: name,
    message: `${name} cannot catch up with its table: ${d.boundColumn ? columnLabel(d.boundColumn) : 'a column'} holds ${d.bound}, past the sequence's ${limit}; setval would fail, and the next insert that takes its id from the sequence fails`,
    details: details(s, d),
    remediation: [
      {
        kind: 'text',
        text: `Widen the sequence first (ALTER SEQUENCE ${name} AS bigint ${up ? 'NO MAXVALUE' : 'NO MINVALUE'}, if the column's type allows values that large), then run the setval below. pg-preflight fix leaves this one alone: it changes the sequence's definition.`,
      },
      { kind: 'sql', title: 'After widening it', text: fixSetval(catchUp(s, '')).sql },
    ],
  };
}

function unreadReason(c: ColumnState): string {
  switch (c.unread?.code) {
    case 'large-unindexed':
      return c.aggregate === 'numeric-localpart'
        ? `${columnName(c)} (about ${groupDigits(c.unread.rows)} rows; the numeric user ids are a range scan, which Synapse itself skips as too expensive)`
        : `${columnName(c)} (about ${groupDigits(c.unread.rows)} rows and no btree index that starts with ${c.column}, so only a full scan could read its maximum)`;
    case 'no-privilege':
      return `${columnName(c)} (no SELECT privilege on it)`;
    case 'foreign-table':
      return `${columnName(c)} (a foreign table: its rows live on another server)`;
    case 'locked':
      return `${columnName(c)} (${c.unread.holders.length > 0 ? `locked ACCESS EXCLUSIVE by ${c.unread.holders.map(describeHolder).join('; ')}` : 'locked ACCESS EXCLUSIVE by a session this role cannot see'})`;
    default:
      return columnName(c);
  }
}

function lockedRemediation(holders: readonly LockHolder[]): Remediation {
  const pids = [...new Set(holders.map((h) => h.pid).filter((p): p is number => p !== undefined))];
  const list = pids.join(', ');
  return {
    kind: 'text',
    title: 'Check again once the lock is gone',
    text:
      `Run pg-preflight again once ${pids.length === 1 ? `pid ${list} has` : `pids ${list} have`} committed or rolled back. ` +
      `If ${pids.length === 1 ? 'it is' : 'they are'} stuck rather than busy (a migration or VACUUM FULL is busy), ` +
      `SELECT pg_cancel_backend(pid) cancels the statement and pg_terminate_backend(pid) ends the session.`,
  };
}

export default defineCheck({
  id: 'sequence-drift',
  title: 'Sequences are ahead of the rows in their tables',
  description: "Every sequence of Synapse's catalogue and every serial, OWNED BY or identity sequence is at or past the largest id already in its tables.",
  tags: ['synapse', 'sequences'],
  fixes: ['sequence-advance'],
  params: {
    'unindexed-row-limit': {
      type: 'integer',
      default: 100_000,
      description: 'Tables estimated above this many rows are not scanned for a maximum when the column leads no btree index (reported skipped); --thorough scans them anyway',
    },
    'second-session': {
      type: 'boolean',
      default: true,
      description: "Read the catalog of sequences and the tables' maxima on a second read-only session beside the other checks (the same snapshot), and when there are hundreds of tables to read, half of them on another; false keeps the run to one connection",
    },
    'lock-budget': {
      type: 'integer',
      default: 0,
      description: "Locks one batch of reads may hold before releasing them; 0 means a quarter of the server's shared lock table",
    },
  },
  docs: `A sequence hands out ids; when it falls behind the rows already in its table (after a
downgrade, a failed or repeated synapse_port_db run, a restore of an old dump, or a failover
that lost the sequence's last values), the next insert takes an id that exists and fails with a
duplicate key.
Two sources, combined: Synapse's own list of sequences with the tables each is compared with
(the same comparison Synapse's check_consistency makes: MAX of each column, -MIN for the
backfill stream, and the numeric user ids for user_id_seq), each in the configured database
that holds its data store; and every sequence a column owns (serial, bigserial, OWNED BY) or
that backs an identity column, in every schema the role can read. A sequence is behind when
the table maximum is above its last value (last value - 1 while is_called is false); a
descending sequence when the table minimum is below it.
Synapse 1.109 and later repair lagging sequences of their own list at startup (with a
warning); older releases refuse to start. Synapse never checks user_id_seq, so that one is
reported as info. Sequences that only your application uses are never repaired for you.
Fix: the SQL printed for each sequence,
  SELECT setval('<sequence>', GREATEST((SELECT last_value FROM <sequence>), <max of each table>));
which never lowers a sequence, or "pg-preflight fix --apply", which sets the same values with
Synapse stopped, atomically, each sequence locked against writers while its value is read and set.
Cost: two or three round trips whatever the number of sequences, on a second read-only session
that reads the first's snapshot beside the other checks' queries (the same timeouts; when one
database is checked at a time); when there
are hundreds of tables to read, another session (on the same snapshot) reads half of them
meanwhile. Where a second session cannot connect, the first reads everything. Maxima are read through a
btree index on the column; a table above unindexed-row-limit rows without one is reported
skipped (--thorough reads it with a full scan). Reads are batched under savepoints so that the
locks they take never fill the server's shared lock table.`,
  codes: {
    'sequences-ok': { status: 'ok', summary: 'No sequence is behind its table.' },
    'user-id-sequence-behind': { status: 'info', summary: 'user_id_seq is behind the numeric user ids.', remediation: ['sql'], fixable: true },
    'sequence-behind': { status: 'error', summary: 'A sequence is behind its table: the next insert fails with a duplicate key.', remediation: ['sql'], fixable: true },
    'sequence-cannot-catch-up': { status: 'error', summary: 'A column holds a value past the sequence\'s limit: the sequence must be widened first.', remediation: ['text', 'sql'] },
    'columns-unread': { status: 'skipped', summary: 'Some columns of a sequence were not compared.' },
    'columns-locked': { status: 'warning', otherStatuses: ['skipped'], summary: 'Another session holds ACCESS EXCLUSIVE on a table of the sequence: it was not compared, the holder is named.', remediation: ['text'] },
    'sequences-unreadable': { status: 'skipped', summary: 'Sequences could not be read for lack of privileges.' },
  },
  // Its reads go on the run's second session (src/beside-session.ts) unless told otherwise.
  readsBeside: (params) => params['second-session'] !== false,
  async run(ctx) {
    const { states, settled } = await readSequenceStates(ctx.query, ctx.facts, {
      catalogue: synapseSequencesFor(ctx),
      owned: true,
      extremes: true,
      thorough: ctx.options.thorough === true,
      unindexedRowLimit: Number(ctx.params['unindexed-row-limit']),
      lockBudget: lockBudgetFor(ctx),
      openReader: ctx.params['second-session'] === false ? undefined : ctx.openReader,
    });
    const findings: Finding[] = [];
    const unreadable: SequenceState[] = [];
    const notes: string[] = [];
    let behind = 0;
    for (const s of states) {
      if (s.unreadable) {
        unreadable.push(s);
        continue;
      }
      // No value read: every table of the sequence is empty or was not read, so nothing is behind.
      const d = s.lastValue === undefined ? undefined : driftOf(s);
      if (d?.outOfRange) findings.push(outOfRangeFinding(s, d));
      else if (d?.behind) {
        findings.push(behindFinding(s, d));
        behind++;
      }
      const unread = s.columns.filter((c) => c.unread && c.unread.code !== 'not-requested');
      if (unread.length === 0 || d?.outOfRange) continue;
      if (s.synapse && !s.synapse.checkedAtStartup && !d?.behind) {
        notes.push(`${displayName(s.schema, s.name)} not compared with ${unread.map(unreadReason).join(', ')}`);
        continue;
      }
      const name = displayName(s.schema, s.name);
      const large = unread.filter((c) => c.unread!.code === 'large-unindexed').length;
      const hint = large === 0 ? '' : `; --thorough reads ${large > 1 ? 'the large ones' : 'the large one'} anyway`;
      const locked = unread.flatMap((c) => (c.unread!.code === 'locked' ? c.unread!.holders : []));
      findings.push({
        // A lock is a moment (a migration, VACUUM FULL): worth a look before the start, unlike a
        // table the role may never read.
        ...(unread.some((c) => c.unread!.code === 'locked') ? { code: 'columns-locked', status: 'warning' as const } : { code: 'columns-unread', status: 'skipped' as const }),
        object: name,
        message: `${name}${d?.behind ? ' was also' : ' was'} not compared with ${unread.map(unreadReason).join(', ')}${hint}`,
        details: {
          sequence: name,
          notRead: unread.map((c) => ({
            column: columnLabel(c),
            reason: c.unread!.code,
            ...(c.unread!.code === 'large-unindexed' ? { rowEstimate: c.unread!.rows } : {}),
            ...(c.unread!.code === 'locked' ? { lockHolders: c.unread!.holders } : {}),
          })),
        },
        ...(locked.length > 0 ? { remediation: [lockedRemediation(locked)] } : {}),
      });
    }
    if (unreadable.length > 0) {
      findings.push({
        code: 'sequences-unreadable', status: 'skipped',
        message: `${unreadable.length} sequence${unreadable.length > 1 ? 's' : ''} could not be read (${unreadable[0]!.unreadable}): ${listed(unreadable.map((s) => displayName(s.schema, s.name)))}; grant SELECT on ${unreadable.length > 1 ? 'them' : 'it'} to check ${unreadable.length > 1 ? 'them' : 'it'}`,
        details: { sequences: unreadable.map((s) => ({ sequence: displayName(s.schema, s.name), reason: s.unreadable })) },
      });
    }
    const synapseCount = states.filter((s) => s.synapse).length;
    // Settled sequences (owned, every table empty) were counted by the catalog query, not listed.
    const ownedCount = states.filter((s) => s.owned && !s.synapse).length + settled;
    const checked = states.length + settled - unreadable.length;
    const what = `${checked} sequence${checked === 1 ? '' : 's'} compared with their tables (${synapseCount} from Synapse's catalogue, ${ownedCount} owned by columns)`;
    findings.unshift({
      code: 'sequences-ok', status: 'ok',
      message: states.length + settled === 0 ? 'no sequences to compare: none is owned by a column, and none of Synapse\'s is in this database' : `${what}${behind > 0 ? `; ${behind} behind` : ', none behind'}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      details: { sequences: states.length + settled, synapse: synapseCount, owned: ownedCount, behind },
    });
    return findings;
  },
});
