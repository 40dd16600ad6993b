import { defineCheck } from '../src/define-check.js';
import { optionalTableJson, parseOptionalTable } from '../src/optional-table.js';
import type { Finding } from '../src/types.js';

/** A background_updates row; depends_on and ordering are missing on schemas older than their deltas. */
interface UpdateRow {
  update_name: string;
  progress_json: string;
  depends_on?: string | null;
  ordering?: number | null;
}

interface Pending {
  name: string;
  ordering: number;
  dependsOn: string | null;
  progress: string;
}

/** Listed in the message; the rest are in the details. */
const SHOWN = 8;

// row_to_json: the columns differ between schema versions (ordering came in delta 58/00).
const SQL = `SELECT ${optionalTableJson('background_updates', 'SELECT json_agg(row_to_json(b)) FROM background_updates b')} AS updates`;

/**
 * The order Synapse runs them (do_next_background_update in synapse/storage/background_updates.py):
 * rows by ordering, then update_name; each time the first whose depends_on is not itself pending.
 * Returns the order and the updates that can never start (a dependency cycle).
 */
function runOrder(rows: Pending[]): { order: Pending[]; stuck: Pending[] } {
  let left = [...rows].sort((a, b) => a.ordering - b.ordering || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const order: Pending[] = [];
  for (;;) {
    const names = new Set(left.map((u) => u.name));
    const next = left.find((u) => !u.dependsOn || !names.has(u.dependsOn));
    if (!next) return { order, stuck: left };
    order.push(next);
    left = left.filter((u) => u !== next);
  }
}

export default defineCheck({
  id: 'synapse-background-updates',
  title: 'Synapse background updates',
  description: "Synapse's pending background updates, in the order it will run them.",
  tags: ['synapse'],
  docs: `Reads Synapse's background_updates table (Synapse databases only: a schema_version table).
Each row is a data migration or index build that Synapse runs in the background after it starts,
one at a time: by the ordering column, then by name, skipping an update whose depends_on is
still pending. Pending updates are info, not a fault: Synapse works meanwhile, if slower, and a
long list right after synapse_port_db or a Synapse upgrade is expected. Their progress shows in
the admin API (GET /_synapse/admin/v1/background_updates/status).
Updates whose dependencies form a cycle can never start, and Synapse's updater stops with
"Unable to find a background update which doesn't depend on another: dependency cycle?": error.`,
  codes: {
    'none-pending': { status: 'ok', summary: 'No pending background updates.' },
    'not-synapse': { status: 'skipped', summary: 'Not a Synapse database.' },
    'no-table': { status: 'skipped', summary: 'No background_updates table yet.' },
    'table-unreadable': { status: 'skipped', summary: 'The role may not read background_updates.' },
    'updates-pending': { status: 'info', summary: 'Background updates are pending; Synapse runs them after it starts.' },
    'dependency-cycle': { status: 'error', summary: 'Background updates depend on each other in a cycle: none can start.', remediation: ['text'] },
  },
  async run(ctx) {
    if (!ctx.facts.isSynapse) return { code: 'not-synapse', status: 'skipped', message: 'not a Synapse database (no schema_version table)' };
    const [row] = await ctx.query<{ updates: unknown }>(SQL);
    const table = parseOptionalTable<UpdateRow[] | null>(row?.updates, []);
    if (table.state === 'missing') return { code: 'no-table', status: 'skipped', message: 'no background_updates table: Synapse creates it with its schema when it first starts' };
    if (table.state === 'denied') {
      return { code: 'table-unreadable', status: 'skipped', message: `${ctx.facts.user} may not read background_updates: run pg-preflight as the database user Synapse uses` };
    }
    const pending: Pending[] = (table.value ?? []).map((u) => ({
      name: u.update_name,
      ordering: Number(u.ordering ?? 0),
      dependsOn: u.depends_on ?? null,
      progress: u.progress_json,
    }));
    if (pending.length === 0) return { code: 'none-pending', status: 'ok', message: 'no pending background updates' };
    const { order, stuck } = runOrder(pending);
    const details = {
      pending: pending.length,
      order: order.map((u, i) => ({ position: i + 1, name: u.name, ordering: u.ordering, dependsOn: u.dependsOn, progress: u.progress })),
    };
    const findings: Finding[] = [];
    if (order.length > 0) {
      const shown = order.slice(0, SHOWN).map((u) => (u.dependsOn ? `${u.name} (after ${u.dependsOn})` : u.name));
      const more = order.length > SHOWN ? `, and ${order.length - SHOWN} more` : '';
      findings.push({
        code: 'updates-pending', status: 'info',
        message: `${pending.length} background update${pending.length > 1 ? 's' : ''} pending; Synapse runs them one at a time after it starts, in this order: ${shown.join(', ')}${more} (a long list right after synapse_port_db or an upgrade is expected)`,
        details,
      });
    }
    if (stuck.length > 0) {
      findings.push({
        code: 'dependency-cycle', status: 'error',
        message: `background updates ${stuck.map((u) => `${u.name} (depends on ${u.dependsOn})`).join(', ')} depend on each other in a cycle: none of them can start, and Synapse's background updater stops when it reaches them ("dependency cycle?")`,
        details: { ...details, cycle: stuck.map((u) => ({ name: u.name, dependsOn: u.dependsOn })) },
        remediation: [
          {
            kind: 'text',
            text: "These rows do not come from a released Synapse schema as they are: restore background_updates from a backup, or ask the Synapse developers which update should run first. Deleting a row skips that migration for good.",
          },
        ],
      });
    }
    return findings;
  },
});
