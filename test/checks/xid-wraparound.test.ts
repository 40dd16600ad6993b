import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { CheckResult, Remediation } from '../../src/types.js';
import { fixtureSql } from '../helpers/fixtures.js';
import { sharedServers, sql, withClient } from '../helpers/servers.js';
import { clientTools } from '../helpers/shell.js';
import CHECK from '../../checks/xid-wraparound.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

type Server = { host: string; port: number };

// Thresholds low enough for a few thousand transactions to cross, as --set would give them.
const LOW = ['warning_age=2000', 'error_age=1000000'];

/** Uses up transaction IDs, one transaction each, as a busy server would. */
async function burnXids(server: Server, count: number): Promise<void> {
  await withClient(server, 'postgres', async (c) => {
    for (let i = 0; i < count; i++) await c.query('SELECT txid_current()');
  });
}

/** Runs VACUUM FREEZE in a database, letting a template that refuses connections in for it. */
async function freezeDatabase(server: Server, db: string): Promise<void> {
  const [r] = await sql(server, 'postgres', `SELECT datallowconn FROM pg_database WHERE datname = '${db}'`);
  const closed = r!.rows[0].datallowconn === false;
  if (closed) await sql(server, 'postgres', `UPDATE pg_database SET datallowconn = true WHERE datname = '${db}'`);
  await sql(server, db, 'VACUUM (FREEZE)');
  if (closed) await sql(server, 'postgres', `UPDATE pg_database SET datallowconn = false WHERE datname = '${db}'`);
}

async function databases(server: Server): Promise<string[]> {
  const [r] = await sql(server, 'postgres', 'SELECT datname FROM pg_database ORDER BY 1');
  return r!.rows.map((row) => row.datname as string);
}

/** Where a printed step's title says it runs ("in database x", "connected to database x"). */
const databaseInTitle = { databaseOf: (step: Remediation) => /(?:in|connected to) database ([^\s,:]+)/.exec(step.title ?? '')?.[1] };

/**
 * For a database that takes no connections the printed text leaves the freeze to autovacuum,
 * which is off on these servers: the test stands in for it. This applies nothing printed.
 */
async function autovacuumFreezesClosedDatabases(server: Server, r: CheckResult): Promise<void> {
  for (const step of r.remediation) if (step.kind === 'text' && /does not accept connections/.test(step.text)) await freezeDatabase(server, step.text.split(' ')[0]!);
}

async function createDb(server: Server, name: string, setup: string): Promise<void> {
  await sql(server, 'postgres', `CREATE DATABASE ${name}`);
  await sql(server, name, setup);
}

describe.each(sharedServers())('xid-wraparound on PostgreSQL $major, default thresholds', (server) => {
  it('an ordinary server: ok, with the distance to the point where writes stop', async () => {
    const [db] = await databases(server);
    const r = (await runCheck(CHECK, server, db!)).result;
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/^the oldest database, .+, is [\d,.]+( million)? transactions old: under autovacuum_freeze_max_age \(200 million\), and [\d,.]+ million from the point where writes stop$/);
    expect(r.details).toMatchObject({ warningAge: 1_300_000_000, errorAge: 1_400_000_000, stopAge: 2_144_483_647 });
  });
});

// Each test ages a whole cluster, so each gets its own, with autovacuum off so that nothing but
// the printed remediation freezes anything.
describe.each(matrixMajors())('xid-wraparound on PostgreSQL %i, aged', (major) => {
  let server: ThrowawayServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('one table left unfrozen past a lowered threshold: warning (error above error_age) naming it; the printed VACUUM fixes it', async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { autovacuum: 'off' } });
    await createDb(server, 'aged', fixtureSql('xid-wraparound/tables.sql'));
    await burnXids(server, 3000);
    // Everything else is frozen, as autovacuum would have done: only the one table stays old.
    for (const db of await databases(server)) if (db !== 'aged') await freezeDatabase(server, db);
    // VACUUM runs outside transaction blocks: one statement per table.
    const [others] = await sql(server, 'aged', `SELECT oid::regclass::text AS rel FROM pg_class WHERE relkind IN ('r', 'm') AND relname <> 'Old "events"'`);
    for (const row of others!.rows) await sql(server, 'aged', `VACUUM (FREEZE) ${row.rel}`);

    const r = (await runCheck(CHECK, server, 'aged', { set: LOW })).result;
    expect(r.status).toBe('warning');
    expect(r.findings).toHaveLength(1);
    expect(r.message).toMatch(/^database aged is 3,0\d\d transactions old, at or over the warning threshold \(2,000\); PostgreSQL stops accepting writes in 2,144 million transactions\. Oldest tables: public\.Old "events" \(3,0\d\d\)/);
    expect(((await runCheck(CHECK, server, 'aged', { set: ['warning_age=2000', 'error_age=2500'] })).result).status).toBe('error');
    expect(r.remediation.map((s) => s.text)).toEqual(['VACUUM (FREEZE, VERBOSE) "public"."Old ""events""";']);

    await applyPrinted(server, 'aged', r, { kinds: ['sql', 'shell'], ...databaseInTitle });
    await autovacuumFreezesClosedDatabases(server, r);
    const after = (await runCheck(CHECK, server, 'aged', { set: LOW })).result;
    expect(after.status).toBe('ok');
  });

  it.skipIf(!clientTools)('a prepared transaction, an idle transaction and a logical slot hold the horizon: named first, removed by the printed steps, then the VACUUMs pass', async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { autovacuum: 'off', max_prepared_transactions: 5, wal_level: 'logical', max_replication_slots: 4 } });
    const s = server;
    await createDb(s, 'held', fixtureSql('xid-wraparound/tables.sql'));
    // The slot first: creating a logical slot waits for transactions that hold an xid.
    await sql(s, 'held', "SELECT pg_create_logical_replication_slot('stale_slot', 'test_decoding')");
    await withClient(s, 'held', async (c) => {
      await c.query('BEGIN');
      await c.query('INSERT INTO "Old ""events""" VALUES (100)');
      await c.query("PREPARE TRANSACTION 'forgotten ''one'''");
    });
    const idle = new pg.Client({ host: s.host, port: s.port, user: 'postgres', database: 'held', application_name: 'left open' });
    idle.on('error', () => undefined);
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query('SELECT txid_current()');
    await burnXids(s, 3000);
    // Freezing cannot get past them: every database stays old.
    for (const db of await databases(s)) await freezeDatabase(s, db);

    const r = (await runCheck(CHECK, s, 'held', { set: LOW })).result;
    expect(r.status).toBe('warning');
    // The three holders come first (oldest first), so that their removal is printed before the VACUUMs.
    const holders = r.findings.slice(0, 3);
    const byObject = (o: string | RegExp) => holders.find((f) => (typeof o === 'string' ? f.object === o : o.test(f.object ?? '')))!;
    expect(byObject('stale_slot').message).toMatch(/^the inactive logical replication slot "stale_slot", whose xmin is 3,0\d\d transactions old: VACUUM cannot freeze anything newer/);
    expect(byObject("forgotten 'one'").message).toContain("the prepared transaction 'forgotten 'one'' (owner postgres, database held");
    expect(byObject(/^backend \d+$/).message).toMatch(/the transaction of backend \d+ \(user postgres, database held, application "left open", idle in transaction, since/);
    expect(holders.map((f) => Number((f.details as { age: number }).age))).toEqual([...holders.map((f) => Number((f.details as { age: number }).age))].sort((a, b) => b - a));
    // Every database is named, the current one with VACUUM, the others with vacuumdb.
    expect(r.findings.slice(3).map((f) => f.object).sort()).toEqual((await databases(s)).sort());
    const texts = r.remediation.map((step) => step.text);
    expect(texts.slice(0, 3)).toEqual(
      expect.arrayContaining([
        "SELECT pg_drop_replication_slot('stale_slot');",
        "ROLLBACK PREPARED 'forgotten ''one''';",
        expect.stringMatching(/^SELECT pg_terminate_backend\(\d+\);$/),
      ]),
    );
    expect(texts).toContain('VACUUM (FREEZE, VERBOSE);');
    expect(texts).toContain(`vacuumdb -h 127.0.0.1 -p ${s.port} -U postgres --freeze --verbose --dbname=postgres`);

    // A role without privileges sees other sessions' xmin but not their state or application.
    await sql(s, 'postgres', 'CREATE ROLE plain LOGIN');
    const asPlain = (await runCheck(CHECK, s, 'held', { set: LOW, user: 'plain' })).result;
    expect(asPlain.findings.find((f) => /^backend \d+$/.test(f.object ?? ''))?.message).toMatch(/^the transaction of backend \d+ \(user postgres, database held, application "left open", state hidden from this role\), 3,0\d\d transactions old/);

    await applyPrinted(s, 'held', r, { kinds: ['sql', 'shell'], ...databaseInTitle });
    await autovacuumFreezesClosedDatabases(s, r);
    await idle.end().catch(() => undefined);
    const after = (await runCheck(CHECK, s, 'held', { set: LOW })).result;
    expect(after.status, after.message).toBe('ok');
  }, 60_000);
});
