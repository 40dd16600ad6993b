import { expect } from 'vitest';
import { fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { sharedServers } from '../helpers/servers.js';
import CHECK from '../../checks/synapse-background-updates.js';
import { CheckTester, runCheck } from '../../src/testing/index.js';

const SYNAPSE = [synapseSchemaSql(94), fixtureSql('synapse-background-updates/table.sql')].join('\n');
// Roles are per cluster and each server of the matrix is its own cluster.
const READER = `bgu_reader_${process.pid}`;

// Nothing here prints SQL to paste: what clears a pending update is Synapse running it, which the
// cases do themselves (apply: false) and then run the check again.
new CheckTester({ servers: sharedServers }).run(CHECK, {
  valid: [
    {
      name: 'a database that is not Synapse: skipped, without a query',
      codes: ['not-synapse'],
      check: ({ result, roundTrips }) => {
        expect(result.message).toContain('not a Synapse database');
        expect(roundTrips).toBe(1);
      },
    },
    {
      name: 'a Synapse database with no background_updates table: skipped with the reason',
      state: synapseSchemaSql(94),
      codes: ['no-table'],
      check: ({ result }) => expect(result.message).toMatch(/^no background_updates table/),
    },
    {
      name: 'a role that may not read the table: skipped with the reason',
      state: async (db) => {
        await db.sql(SYNAPSE);
        await db.sql(`DROP ROLE IF EXISTS ${READER}; CREATE ROLE ${READER} LOGIN; GRANT SELECT ON schema_version TO ${READER};`);
      },
      user: READER,
      codes: ['table-unreadable'],
      check: async ({ result }, db) => {
        expect(result.message).toBe(`${READER} may not read background_updates: run pg-preflight as the database user Synapse uses`);
        await db.sql(`DROP OWNED BY ${READER}; DROP ROLE ${READER}`);
      },
    },
  ],
  invalid: [
    {
      name: 'pending updates are info, named in the order Synapse runs them; ok once they are done, in one statement',
      state: [SYNAPSE, fixtureSql('synapse-background-updates/pending.sql')].join('\n'),
      findings: [{ code: 'updates-pending', status: 'info' }],
      apply: false,
      check: async ({ result: r, roundTrips }, db) => {
        expect(roundTrips).toBe(2); // the facts (schema_version included) and the check
        expect(r.message).toBe(
          '6 background updates pending; Synapse runs them one at a time after it starts, in this order: event_push_summary_unique_index2, ' +
            'remove_dead_devices_from_device_inbox, remove_deleted_devices_from_device_inbox, event_push_actions_staging_id (after remove_dead_devices_from_device_inbox), ' +
            'z_update_that_runs_first, a_update_that_waits (after z_update_that_runs_first) (a long list right after synapse_port_db or an upgrade is expected)',
        );
        const order = r.details!.order as { name: string; progress: string }[];
        expect(order[3]).toMatchObject({ position: 4, name: 'event_push_actions_staging_id', progress: '{"last_event_id": "$abc"}' });
        // Synapse runs them and deletes each row when it is done.
        for (const { name } of order) await db.sql(`DELETE FROM background_updates WHERE update_name = '${name}'`);
        expect((await runCheck(CHECK, db.server, db.name)).result).toMatchObject({ status: 'ok', message: 'no pending background updates' });
      },
    },
    {
      name: 'a schema older than the ordering and depends_on columns still reads',
      state: [synapseSchemaSql(40), "CREATE TABLE background_updates (update_name text NOT NULL, progress_json text NOT NULL); INSERT INTO background_updates VALUES ('b_second', '{}'), ('a_first', '{}');"].join('\n'),
      findings: [{ code: 'updates-pending', status: 'info' }],
      apply: false,
      check: ({ result }) => expect(result.message).toContain('in this order: a_first, b_second ('),
    },
    {
      name: 'a dependency cycle is an error: Synapse can start none of them',
      state: [SYNAPSE, "INSERT INTO background_updates (update_name, progress_json, depends_on) VALUES ('one', '{}', 'two'), ('two', '{}', 'one'), ('free', '{}', NULL);"].join('\n'),
      findings: [
        { code: 'updates-pending', status: 'info' },
        { code: 'dependency-cycle', status: 'error' },
      ],
      apply: false,
      check: async ({ result: r }, db) => {
        expect(r.status).toBe('error');
        expect(r.message).toContain('one (depends on two), two (depends on one) depend on each other in a cycle');
        await db.sql("UPDATE background_updates SET depends_on = NULL WHERE update_name = 'one'");
        expect((await runCheck(CHECK, db.server, db.name)).result.status).toBe('info');
      },
    },
  ],
});
