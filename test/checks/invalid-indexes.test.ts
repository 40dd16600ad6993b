import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import CHECK from '../../checks/invalid-indexes/index.js';
import { applyPrinted, CheckTester, runCheck } from '../../src/testing/index.js';

async function connect(server: SharedServer, db: string): Promise<pg.Client> {
  const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: db });
  await c.connect();
  return c;
}

/** Runs `statement` alone in autocommit with a short lock_timeout, as a build that gives up waiting. */
async function withLockTimeout(server: SharedServer, db: string, statement: string): Promise<void> {
  const c = await connect(server, db);
  try {
    await c.query("SET lock_timeout = '200ms'");
    await c.query(statement);
  } finally {
    await c.end();
  }
}

/** A write transaction left open on the table: a concurrent build must wait for it. */
async function holdWriter(server: SharedServer, db: string, insert = 'INSERT INTO t (id) VALUES (1000)'): Promise<pg.Client> {
  const c = await connect(server, db);
  await c.query(`BEGIN; ${insert}`);
  return c;
}

describe.each(sharedServers())('invalid-indexes on PostgreSQL $major', (server) => {
  it('passes with only valid indexes, in one statement after the facts', async () => {
    const db = await createDatabase(server, 'ix_ok', { setup: 'CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_v ON t (v);' });
    const { result, roundTrips } = await runCheck(CHECK, server, db);
    expect(result.status).toBe('ok');
    expect(roundTrips).toBe(2);
  });

  it('a failed CREATE UNIQUE INDEX CONCURRENTLY on duplicates: error with the definition and the duplicate keys; the printed fix makes it pass', async () => {
    const db = await createDatabase(server, 'ix_dup', { setup: fixtureSql('invalid-indexes/duplicates.sql') });
    const create = `CREATE UNIQUE INDEX CONCURRENTLY "Odd ""idx""" ON "My Schema"."Accounts" (lower("E-mail")) WHERE id > 0`;
    await expect(sql(server, db, create)).rejects.toMatchObject({ code: '23505' });

    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('error');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.object).toBe('My Schema.Odd "idx"');
    expect(r.message).toContain('CREATE UNIQUE INDEX "Odd ""idx""" ON "My Schema"."Accounts" USING btree (lower("E-mail")) WHERE (id > 0)');
    // The duplicates stop the build before the index is marked ready.
    expect(r.message).toContain('not even maintained on writes');

    // The duplicate query finds exactly the colliding keys inside the partial index (not id 0's row, not NULLs).
    const listing = r.remediation.find((s) => s.text.startsWith('SELECT'))!;
    const [dups] = await sql(server, db, listing.text);
    expect(dups!.rows.map((row) => [Object.values(row)[0], Number(row.copies)])).toEqual([
      ['dup@example.org', 2],
      ['other@example.org', 2],
    ]);
    for (const row of dups!.rows) {
      const key = Object.values(row)[0] as string;
      await sql(server, db, `DELETE FROM "My Schema"."Accounts" WHERE id > 0 AND lower("E-mail") = '${key}' AND id <> (SELECT min(id) FROM "My Schema"."Accounts" WHERE id > 0 AND lower("E-mail") = '${key}')`);
    }

    const ran = await applyPrinted(server, db, r, { filter: (step) => !step.text.startsWith('SELECT') });
    expect(ran).toEqual(
      server.major >= 12
        ? ['REINDEX INDEX CONCURRENTLY "My Schema"."Odd ""idx""";']
        : ['DROP INDEX CONCURRENTLY "My Schema"."Odd ""idx""";', 'CREATE UNIQUE INDEX CONCURRENTLY "Odd ""idx""" ON "My Schema"."Accounts" USING btree (lower("E-mail")) WHERE (id > 0);'],
    );
    expect((await runCheck(CHECK, server, db)).result.status).toBe('ok');
    await expect(sql(server, db, `INSERT INTO "My Schema"."Accounts" VALUES (9, 'UNIQUE@example.org')`)).rejects.toMatchObject({ code: '23505' });
  });

  it('a concurrent build cancelled while waiting (lock timeout) leaves an index not even ready; the printed fix rebuilds it', async () => {
    const db = await createDatabase(server, 'ix_cancel', { setup: 'CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, g::text FROM generate_series(1, 100) g;' });
    const writer = await holdWriter(server, db);
    try {
      await expect(withLockTimeout(server, db, "CREATE INDEX CONCURRENTLY t_v ON t (v)")).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('error');
    expect(r.message).toContain('not even maintained on writes');
    expect(r.remediation.some((s) => s.text.startsWith('SELECT'))).toBe(false);
    await applyPrinted(server, db, r, { filter: (step) => !step.text.startsWith('SELECT') });
    expect((await runCheck(CHECK, server, db)).result.status).toBe('ok');
  });

  it('an index being built right now is info, and ok once the build finishes', async () => {
    const db = await createDatabase(server, 'ix_building', { setup: 'CREATE TABLE t (id int, v text);' });
    const writer = await holdWriter(server, db);
    const builder = await connect(server, db);
    const build = builder.query('CREATE INDEX CONCURRENTLY t_v ON t (v)');
    try {
      // Wait until the build's catalog entry exists (it then waits for the open writer).
      for (let i = 0; i < 100; i++) {
        const [res] = await sql(server, db, "SELECT 1 FROM pg_class WHERE relname = 't_v'");
        if (res!.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const { result: r } = await runCheck(CHECK, server, db);
      expect(r.status).toBe('info');
      expect(r.message).toMatch(/being built right now \(session \d+\)/);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
      await build;
      await builder.end();
    }
    expect((await runCheck(CHECK, server, db)).result.status).toBe('ok');
  });

  it('Synapse: a pending background update that rebuilds the index is named instead of a manual fix', async () => {
    const db = await createDatabase(server, 'ix_synapse', {
      setup: [
        synapseSchemaSql(94),
        fixtureSql('synapse-background-updates/table.sql'),
        'CREATE TABLE events (stream_ordering bigint, room_id text, contains_url boolean);',
        'INSERT INTO events VALUES (1, \'!a\', true), (1, \'!a\', false);',
        // One update named after its index, one whose name differs (index_stream_ordering2 builds events_stream_ordering).
        "INSERT INTO background_updates (update_name, progress_json) VALUES ('event_contains_url_index', '{}'), ('index_stream_ordering2', '{}');",
      ].join('\n'),
    });
    // A half-built index as an interrupted run of each update leaves it.
    const writer = await holdWriter(server, db, 'INSERT INTO events (stream_ordering) VALUES (1000)');
    try {
      await expect(withLockTimeout(server, db, "CREATE INDEX CONCURRENTLY event_contains_url_index ON events (room_id, stream_ordering) WHERE contains_url")).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
    await expect(sql(server, db, 'CREATE UNIQUE INDEX CONCURRENTLY events_stream_ordering ON events (stream_ordering)')).rejects.toMatchObject({ code: '23505' });

    const { result: r, roundTrips } = await runCheck(CHECK, server, db);
    expect(roundTrips).toBe(2); // one for the facts (schema_version included), one for the check
    expect(r.status).toBe('info');
    expect(r.remediation).toEqual([]);
    const byObject = Object.fromEntries(r.findings.map((f) => [f.object, f.message]));
    expect(byObject['public.event_contains_url_index']).toContain('background update "event_contains_url_index" drops and rebuilds it');
    expect(byObject['public.events_stream_ordering']).toContain('background update "index_stream_ordering2"');

    // Without the pending rows the same indexes need a manual fix.
    await sql(server, db, 'DELETE FROM background_updates');
    expect((await runCheck(CHECK, server, db)).result.status).toBe('error');
  });

  it.skipIf(server.major < 12)('a _ccnew copy left by an interrupted REINDEX CONCURRENTLY: the printed DROP makes it pass (PostgreSQL 12+)', async () => {
    const db = await createDatabase(server, 'ix_ccnew', { setup: 'CREATE TABLE t (id int, v text); CREATE INDEX t_v ON t (v);' });
    const writer = await holdWriter(server, db);
    try {
      await expect(withLockTimeout(server, db, "REINDEX INDEX CONCURRENTLY t_v")).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('error');
    expect(r.findings.map((f) => f.object)).toEqual(['public.t_v_ccnew']);
    expect(await applyPrinted(server, db, r, { filter: (step) => !step.text.startsWith('SELECT') })).toEqual(['DROP INDEX CONCURRENTLY "public"."t_v_ccnew";']);
    expect((await runCheck(CHECK, server, db)).result.status).toBe('ok');
  });
});

new CheckTester({ servers: sharedServers }).run(CHECK, {
  valid: [{ name: 'only valid indexes', state: 'CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_v ON t (v);', codes: ['no-invalid-indexes'] }],
  invalid: [
    {
      name: 'a unique build that failed on duplicates, once the duplicate is deleted',
      state: async (db) => {
        await db.sql("CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a'), (2, 'a');");
        await expect(db.sql('CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v)')).rejects.toMatchObject({ code: '23505' });
        await db.sql('DELETE FROM t WHERE id = 2');
      },
      findings: [{ code: 'invalid-index', object: 'public.t_v', status: 'error' }],
      // The duplicate listing is a query to read, not a step of the fix.
      apply: { filter: (step) => !step.text.startsWith('SELECT') },
    },
  ],
});
