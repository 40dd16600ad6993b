import { describe, expect, it } from 'vitest';
import { fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql } from '../helpers/servers.js';
import CHECK from '../../checks/synapse-background-updates.js';
import { runCheck } from '../../src/testing/index.js';

const SYNAPSE = [synapseSchemaSql(94), fixtureSql('synapse-background-updates/table.sql')].join('\n');

describe.each(sharedServers())('synapse-background-updates on PostgreSQL $major', (server) => {
  it('skipped, without a query, on a database that is not Synapse', async () => {
    const db = await createDatabase(server, 'bgu_plain');
    const { result, roundTrips } = await runCheck(CHECK, server, db);
    expect(result.status).toBe('skipped');
    expect(result.message).toContain('not a Synapse database');
    expect(roundTrips).toBe(1);
  });

  it('skipped with the reason when a Synapse database has no background_updates table', async () => {
    const db = await createDatabase(server, 'bgu_notable', { setup: synapseSchemaSql(94) });
    const { result } = await runCheck(CHECK, server, db);
    expect(result.status).toBe('skipped');
    expect(result.message).toMatch(/^no background_updates table/);
  });

  it('pending updates are info, named in the order Synapse runs them; ok once they are done, in one statement', async () => {
    const db = await createDatabase(server, 'bgu_pending', { setup: [SYNAPSE, fixtureSql('synapse-background-updates/pending.sql')].join('\n') });
    const { result: r, roundTrips } = await runCheck(CHECK, server, db);
    expect(roundTrips).toBe(2); // the facts (schema_version included) and the check
    expect(r.status).toBe('info');
    expect(r.message).toBe(
      '6 background updates pending; Synapse runs them one at a time after it starts, in this order: event_push_summary_unique_index2, ' +
        'remove_dead_devices_from_device_inbox, remove_deleted_devices_from_device_inbox, event_push_actions_staging_id (after remove_dead_devices_from_device_inbox), ' +
        'z_update_that_runs_first, a_update_that_waits (after z_update_that_runs_first) (a long list right after synapse_port_db or an upgrade is expected)',
    );
    const order = (r.details!.order as { name: string; progress: string }[]);
    expect(order[3]).toMatchObject({ position: 4, name: 'event_push_actions_staging_id', progress: '{"last_event_id": "$abc"}' });

    // Synapse runs them and deletes each row when it is done.
    for (const { name } of order) await sql(server, db, `DELETE FROM background_updates WHERE update_name = '${name}'`);
    expect((await runCheck(CHECK, server, db)).result).toMatchObject({ status: 'ok', message: 'no pending background updates' });
  });

  it('a schema older than the ordering and depends_on columns still reads', async () => {
    const db = await createDatabase(server, 'bgu_old', {
      setup: [synapseSchemaSql(40), "CREATE TABLE background_updates (update_name text NOT NULL, progress_json text NOT NULL); INSERT INTO background_updates VALUES ('b_second', '{}'), ('a_first', '{}');"].join('\n'),
    });
    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('info');
    expect(r.message).toContain('in this order: a_first, b_second (');
  });

  it('a dependency cycle is an error: Synapse can start none of them', async () => {
    const db = await createDatabase(server, 'bgu_cycle', {
      setup: [SYNAPSE, "INSERT INTO background_updates (update_name, progress_json, depends_on) VALUES ('one', '{}', 'two'), ('two', '{}', 'one'), ('free', '{}', NULL);"].join('\n'),
    });
    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('error');
    expect(r.findings.map((f) => f.status)).toEqual(['info', 'error']);
    expect(r.message).toContain('one (depends on two), two (depends on one) depend on each other in a cycle');
    await sql(server, db, "UPDATE background_updates SET depends_on = NULL WHERE update_name = 'one'");
    expect((await runCheck(CHECK, server, db)).result.status).toBe('info');
  });

  it('skipped with the reason when the role may not read the table', async () => {
    const role = `bgu_reader_${server.major}_${process.pid}`;
    const db = await createDatabase(server, 'bgu_denied', { setup: [SYNAPSE, `CREATE ROLE ${role} LOGIN; GRANT SELECT ON schema_version TO ${role};`].join('\n') });
    try {
      const { result: r } = await runCheck(CHECK, server, db, { user: role });
      expect(r.status).toBe('skipped');
      expect(r.message).toBe(`${role} may not read background_updates: run pg-preflight as the database user Synapse uses`);
    } finally {
      await sql(server, db, `DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
