import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/types.js';
import { runCheck } from '../helpers/check.js';
import { applyPrinted } from '../../src/testing/index.js';
import { fixtureSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';

function sqlSteps(r: CheckResult): string[] {
  return r.remediation.filter((s) => s.kind === 'sql').map((s) => s.text);
}

/** Simulates a library upgrade: the catalog records a version the library no longer reports. */
async function recordOldVersion(server: SharedServer, db: string, collations: string[]): Promise<void> {
  const names = collations.map((c) => `'${c.replace(/'/g, "''")}'`).join(', ');
  await sql(server, db, `UPDATE pg_collation SET collversion = '0.0' WHERE collname IN (${names})`);
}

describe.each(sharedServers())('collation-version on PostgreSQL $major', (server) => {
  it('a C database with text indexes: ok, and says that C never changes', async () => {
    const db = await createDatabase(server, 'coll_ok', { setup: fixtureSql('database-encoding/rows.sql') });
    const r = await runCheck(server, db, 'collation-version');
    expect(r.status).toBe('ok');
    expect(r.message).toContain('the default collation is C, which has no version and never changes (one more reason Synapse wants C)');
  });

  it('ICU collations recorded at another version: warning naming the indexes; the printed statements, run one by one, fix it', async () => {
    const db = await createDatabase(server, 'coll_icu', { setup: fixtureSql('collation-version/icu-indexes.sql') });
    expect((await runCheck(server, db, 'collation-version')).status).toBe('ok');
    await recordOldVersion(server, db, ['My "odd" coll', 'und-x-icu']);

    const r = await runCheck(server, db, 'collation-version');
    expect(r.status).toBe('warning');
    expect(r.findings.map((f) => f.object)).toEqual(['pg_catalog.und-x-icu', 'public.My "odd" coll']);
    expect(r.findings[0]!.message).toMatch(/^collation pg_catalog\.und-x-icu \(ICU.*\) was recorded at version 0\.0, the library now provides [\d.]+: its sort order may have changed under 2 indexes public\.Room names topic, public\.room_names_lower/);
    expect(r.findings[1]!.message).toContain('under the index public.Room names_name_key');
    const steps = sqlSteps(r);
    const reindex = server.major >= 12 ? 'REINDEX INDEX CONCURRENTLY' : 'REINDEX INDEX';
    expect(steps).toContain(`${reindex} "public"."Room names topic";`);
    expect(steps).toContain(`${reindex} "public"."room_names_lower";`);
    expect(steps).toContain(`${reindex} "public"."Room names_name_key";`);
    expect(steps).toContain('SELECT lower(name), topic, count(*) AS copies, array_agg(ctid) AS ctids FROM "public"."Room names" TABLESAMPLE SYSTEM (100) WHERE (topic IS NOT NULL) AND (lower(name)) IS NOT NULL AND (topic) IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1;');
    expect(steps.at(-1)).toBe('ALTER COLLATION "public"."My ""odd"" coll" REFRESH VERSION;');
    expect(steps).toContain('ALTER COLLATION "pg_catalog"."und-x-icu" REFRESH VERSION;');
    // Every REINDEX comes before the REFRESH that vouches for it.
    expect(steps.indexOf(`${reindex} "public"."room_names_lower";`)).toBeLessThan(steps.indexOf('ALTER COLLATION "pg_catalog"."und-x-icu" REFRESH VERSION;'));

    expect(await applyPrinted(server, db, r)).toEqual(steps);
    const after = await runCheck(server, db, 'collation-version');
    expect(after.status).toBe('ok');
    expect(after.message).toContain('2 versioned collation(s) used by indexes match the library');
  });

  it('a REINDEX that fails on duplicates: the printed query finds them; removed, the remaining steps succeed', async () => {
    const db = await createDatabase(server, 'coll_dup', { setup: fixtureSql('collation-version/duplicates.sql') });
    // The index stops seeing inserts, a duplicate goes in, and the index is trusted again: what a
    // changed sort order does to a unique index, in a form a test can build.
    await sql(server, db, "UPDATE pg_index SET indisready = false WHERE indexrelid = 'events_event_id'::regclass");
    await sql(server, db, "INSERT INTO events VALUES ('$a', 3)");
    await sql(server, db, "UPDATE pg_index SET indisready = true WHERE indexrelid = 'events_event_id'::regclass");
    await recordOldVersion(server, db, ['dup_coll']);

    const r = await runCheck(server, db, 'collation-version');
    expect(r.status).toBe('warning');
    const [reindexStep, duplicatesStep, ...rest] = sqlSteps(r);
    await expect(sql(server, db, reindexStep!)).rejects.toMatchObject({ code: '23505' });
    expect(r.remediation[1]!.title).toContain('fails with a duplicate key error: corruption already happened');
    const [found] = await sql(server, db, duplicatesStep!);
    expect(found!.rows).toEqual([{ event_id: '$a', copies: '2', ctids: expect.any(String) }]);
    // By hand, as the step says: keep one row of each duplicated key, delete the other by ctid
    // (a lookup by event_id goes through the damaged index and finds only one of them).
    const ctids = String(found!.rows[0].ctids).replace(/^\{|\}$/g, '').split(/,(?=")/).map((c) => c.replace(/"/g, ''));
    expect(ctids).toHaveLength(2);
    await sql(server, db, `DELETE FROM events WHERE ctid = '${ctids[1]}'`);
    if (server.major >= 12) {
      expect(rest[0]).toBe('DROP INDEX CONCURRENTLY IF EXISTS "public"."events_event_id_ccnew";');
      const [left] = await sql(server, db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_event_id_ccnew'::regclass");
      expect(left!.rows).toEqual([{ indisvalid: false }]);
    }
    await applyPrinted(server, db, r, { filter: (step) => rest.includes(step.text) });
    await applyPrinted(server, db, r, { filter: (step) => step.text === reindexStep });
    // Re-running the listed steps in order is also safe now.
    await applyPrinted(server, db, r);
    expect((await runCheck(server, db, 'collation-version')).status).toBe('ok');
  });

  it.runIf(server.major >= 15)('the database default (ICU) recorded at another version: REINDEX, then ALTER DATABASE ... REFRESH COLLATION VERSION', async () => {
    const db = await createDatabase(server, 'coll_default', {
      extra: "LOCALE_PROVIDER icu ICU_LOCALE 'und'",
      setup: fixtureSql('database-encoding/rows.sql'),
    });
    await sql(server, 'postgres', `UPDATE pg_database SET datcollversion = '0.0' WHERE datname = '${db}'`);
    const r = await runCheck(server, db, 'collation-version');
    expect(r.status).toBe('warning');
    expect(r.findings[0]!.object).toBe(db);
    expect(r.message).toMatch(new RegExp(`^the default collation of database ${db} \\(ICU und\\) was recorded at version 0\\.0, the library now provides [\\d.]+: its sort order may have changed under 2 indexes public\\.room_names_name, public\\.room_names_pkey`));
    const steps = sqlSteps(r);
    expect(steps.at(-1)).toBe(`ALTER DATABASE "${db}" REFRESH COLLATION VERSION;`);
    expect(await applyPrinted(server, db, r)).toEqual(steps);
    const after = await runCheck(server, db, 'collation-version');
    expect(after.status).toBe('ok');
    expect(after.message).toMatch(/the default collation ICU und is at version [\d.]+, as the library provides/);
  });

  it.runIf(server.major < 15)('before 15 the default collation has no recorded version: skipped with the reason when it is not C', async () => {
    const db = await createDatabase(server, 'coll_nover', { collate: 'C.UTF-8', ctype: 'C.UTF-8', setup: fixtureSql('database-encoding/rows.sql') });
    const r = await runCheck(server, db, 'collation-version');
    expect(r.status).toBe('skipped');
    expect(r.message).toContain(`PostgreSQL ${server.major} does not record the version of the database's default collation (C.UTF-8), so a library change under the `);
    expect(r.message).toMatch(/under the \d+ indexes that use it cannot be seen \(it can from 15; a default of C never changes\)/);
  });
});
