import { defineCheck } from '../src/define-check.js';
import { groupDigits, humanSize, pgSize } from '../src/units.js';
import { quoteLiteral } from '../src/quote.js';
import type { CheckContext, Finding, Remediation, Status } from '../src/types.js';

interface SlotRow extends Record<string, unknown> {
  /** The whole pg_replication_slots row: wal_status and safe_wal_size from 13, invalidation_reason from 17. */
  slot: {
    slot_name: string;
    slot_type: 'physical' | 'logical';
    plugin: string | null;
    database: string | null;
    active: boolean;
    active_pid: number | null;
    temporary?: boolean;
    wal_status?: string | null;
    safe_wal_size?: number | null;
    invalidation_reason?: string | null;
  };
  retained_bytes: string | null;
  xmin_age: number | null;
  catalog_xmin_age: number | null;
}

// row_to_json keeps one statement across majors whose view has different columns. On a standby
// pg_current_wal_lsn() raises an error; the replay position is the reference there.
const SLOTS_SQL = `
SELECT row_to_json(s) AS slot,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       s.restart_lsn)::bigint::text AS retained_bytes,
       age(s.xmin) AS xmin_age,
       age(s.catalog_xmin) AS catalog_xmin_age
  FROM pg_replication_slots s
 ORDER BY s.slot_name`;

/** max_slot_wal_keep_size in bytes (PostgreSQL 13+); undefined when unlimited (-1) or absent. */
function keepLimit(ctx: CheckContext): number | undefined {
  const s = ctx.facts.settings.get('max_slot_wal_keep_size');
  if (!s || Number(s.setting) < 0) return undefined;
  return Number(s.setting) * 1024 * 1024; // its unit is MB
}

interface Problem {
  status: Status;
  text: string;
}

function problems(ctx: CheckContext, row: SlotRow, limit: number | undefined): Problem[] {
  const { slot } = row;
  const maxRetained = Number(ctx.params['max-retained-wal']);
  const maxXminAge = Number(ctx.params['max-xmin-age']);
  const nearFraction = Number(ctx.params['near-limit-fraction']);
  const retained = row.retained_bytes === null ? null : Number(row.retained_bytes);
  const out: Problem[] = [];
  if (slot.wal_status === 'lost' || slot.invalidation_reason) {
    out.push({
      status: 'error',
      text: `it has lost WAL it needs (${slot.invalidation_reason ? `invalidated: ${slot.invalidation_reason}` : 'wal_status lost'}): its consumer can never resume from it`,
    });
  } else if (slot.wal_status === 'unreserved') {
    out.push({ status: 'error', text: 'it is past max_slot_wal_keep_size (wal_status unreserved): the next checkpoint removes WAL it needs' });
  } else if (limit !== undefined && slot.safe_wal_size !== null && slot.safe_wal_size !== undefined && slot.safe_wal_size < limit * nearFraction) {
    out.push({
      status: 'error',
      text: `only ${humanSize(Math.max(slot.safe_wal_size, 0))} more WAL can be written before it passes max_slot_wal_keep_size (${humanSize(limit)}) and loses the WAL it needs`,
    });
  }
  if (retained !== null && retained > maxRetained) {
    out.push({
      status: 'warning',
      text: `it keeps ${humanSize(retained)} of WAL on disk (above ${humanSize(maxRetained)})${limit === undefined ? ', and max_slot_wal_keep_size is unlimited, so it grows until the disk is full' : ''}`,
    });
  } else if (!slot.active && retained !== null && out.length === 0) {
    out.push({ status: 'info', text: `it is inactive and keeps ${humanSize(retained)} of WAL so far, growing with every write` });
  }
  for (const [what, age] of [['xmin', row.xmin_age], ['catalog_xmin', row.catalog_xmin_age]] as const) {
    if (age !== null && age > maxXminAge) {
      out.push({
        status: 'warning',
        text: `its ${what} is ${groupDigits(age)} transactions old (above ${groupDigits(maxXminAge)}): VACUUM cannot remove rows deleted since then${what === 'catalog_xmin' ? ' from the system catalogs' : ''}, and freezing for wraparound stalls`,
      });
    }
  }
  return out;
}

function describe(slot: SlotRow['slot']): string {
  const kind = slot.slot_type === 'logical' ? `logical (${slot.plugin}, database ${slot.database})` : 'physical';
  const state = slot.active ? `active, pid ${slot.active_pid}` : 'inactive';
  return `replication slot "${slot.slot_name}" (${kind}, ${state})`;
}

function dropStep(slot: SlotRow['slot']): Remediation {
  const where = slot.slot_type === 'logical' ? ` Run it connected to database ${slot.database}.` : '';
  const active = slot.active ? ` The slot is in use by pid ${slot.active_pid}: stop that consumer first, or the drop fails.` : '';
  return {
    kind: 'sql',
    title: `Drop the slot, only once nothing will use it again: the standby, logical subscriber or backup tool that used it must be gone for good (a standby then needs a fresh base backup, a subscriber a new sync).${active}${where}`,
    text: `SELECT pg_drop_replication_slot(${quoteLiteral(slot.slot_name)});`,
  };
}

function limitSteps(maxRetained: number): Remediation[] {
  // Four times the warning threshold (the setting counts whole MB): room for a consumer that is
  // only slow.
  const cap = pgSize(Math.ceil((maxRetained * 4) / (1024 * 1024)) * 1024 * 1024);
  return [
    {
      kind: 'sql',
      title: `Keep a forgotten slot from filling the disk: cap the WAL any slot may hold (PostgreSQL 13+; ${cap} is four times max-retained-wal: size it to what the WAL disk can spare). A slot past the cap is invalidated instead of keeping WAL.`,
      text: `ALTER SYSTEM SET max_slot_wal_keep_size = '${cap}';`,
    },
    { kind: 'sql', title: 'A reload applies it (ALTER SYSTEM cannot share a transaction with it)', text: 'SELECT pg_reload_conf();' },
  ];
}

export default defineCheck({
  id: 'replication-slots',
  title: 'Replication slots are in use and keep little WAL',
  description: 'Inactive or lagging replication slots, the WAL each keeps, lost WAL (13+), and xmin held back.',
  docs: `Reads pg_replication_slots (every slot of the server, whatever database it belongs to). A
slot makes the server keep all WAL from its restart_lsn on, and its xmin/catalog_xmin stop VACUUM
from removing newer dead rows, until its consumer (a standby, a logical subscriber, a backup
tool) confirms progress. A slot whose consumer is gone keeps both forever: the WAL directory
grows until the disk is full, and the database bloats and drifts toward wraparound.
- WAL kept (pg_wal_lsn_diff of the current position and restart_lsn) above max-retained-wal:
  warning; an inactive slot below it: info.
- PostgreSQL 13+: wal_status lost (or, 17+, an invalidation_reason) means the slot's consumer can
  never resume; unreserved means the next checkpoint removes WAL it needs; safe_wal_size below
  near-limit-fraction of max_slot_wal_keep_size means it is about to: all errors.
- age(xmin) or age(catalog_xmin) above max-xmin-age: warning.
Fix: SELECT pg_drop_replication_slot('name') once the consumer is gone for good (a standby
then needs a new base backup). On 13+, max_slot_wal_keep_size caps what a slot may hold.`,
  params: {
    'max-retained-wal': { type: 'bytes', default: '1GB', description: 'WAL a slot may keep before it is a warning' },
    'near-limit-fraction': {
      type: 'number',
      default: 0.1,
      description: "error when a slot's safe_wal_size is below this fraction of max_slot_wal_keep_size (PostgreSQL 13+)",
    },
    'max-xmin-age': { type: 'integer', default: 10_000_000, description: 'transactions a slot may hold xmin or catalog_xmin back before it is a warning' },
  },
  codes: {
    'no-slots': { status: 'ok', summary: 'No replication slots.' },
    'slots-ok': { status: 'ok', summary: 'Every replication slot is active and within limits.' },
    'slot-at-risk': { status: 'error', otherStatuses: ['warning', 'info'], summary: 'A slot lost or is about to lose WAL (error), retains too much WAL or holds xmin back (warning), or is inactive (info).', remediation: ['sql'] },
  },
  async run(ctx) {
    const rows = await ctx.query<SlotRow>(SLOTS_SQL);
    if (rows.length === 0) return { code: 'no-slots', status: 'ok', message: 'no replication slots' };
    const limit = keepLimit(ctx);
    const findings: Finding[] = [];
    for (const row of rows) {
      const found = problems(ctx, row, limit);
      if (found.length === 0) continue;
      const worst = found.some((p) => p.status === 'error') ? 'error' : found.some((p) => p.status === 'warning') ? 'warning' : 'info';
      const remediation: Remediation[] = [dropStep(row.slot)];
      const retained = row.retained_bytes === null ? null : Number(row.retained_bytes);
      if (ctx.facts.major >= 13 && limit === undefined && retained !== null && retained > Number(ctx.params['max-retained-wal'])) {
        remediation.push(...limitSteps(Number(ctx.params['max-retained-wal'])));
      }
      findings.push({
        code: 'slot-at-risk', status: worst,
        object: row.slot.slot_name,
        message: `${describe(row.slot)}: ${found.map((p) => p.text).join('; ')}`,
        details: {
          slotType: row.slot.slot_type,
          active: row.slot.active,
          retainedBytes: retained,
          walStatus: row.slot.wal_status,
          safeWalSize: row.slot.safe_wal_size,
          xminAge: row.xmin_age,
          catalogXminAge: row.catalog_xmin_age,
        },
        remediation: worst === 'info' ? [] : remediation,
      });
    }
    if (findings.length === 0) {
      return { code: 'slots-ok', status: 'ok', message: `${rows.length} replication slot${rows.length > 1 ? 's' : ''}, all active and within limits` };
    }
    return findings;
  },
});
