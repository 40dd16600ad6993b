import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { ParamValues } from '../../src/types.js';
import { createDatabase, sharedServers, sql } from '../helpers/servers.js';
import CHECK from '../../checks/long-transactions.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

/** Thresholds short enough for a test: half a second idle, one second open. */
const FAST: ParamValues = { 'max-prepared-age': 0.2, 'max-idle-in-transaction': 0.5, 'max-transaction-age': 1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function session(server: ThrowawayServer, db: string, application = 'stuck-app', user = 'postgres'): Promise<pg.Client> {
  const c = new pg.Client({ host: server.host, port: server.port, user, database: db, application_name: application });
  // A terminated session reports an error event; the test expects it.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

// Sessions and prepared transactions are server state: own servers, with two-phase commit on.
describe.each(sharedServers().map((s) => s.major))('long-transactions on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  let db: string;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { max_prepared_transactions: 5 } });
    db = await createDatabase(server, 'longtx', { setup: 'CREATE TABLE t (id int); CREATE ROLE app LOGIN; GRANT ALL ON t TO app;' });
  });
  afterAll(async () => {
    await server?.stop();
  });
  // A failed test must not leave sessions behind for the next one.
  afterEach(async () => {
    await sql(server, 'postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
    for (const { gid } of (await sql(server, db, 'SELECT gid FROM pg_prepared_xacts'))[0]!.rows) {
      await sql(server, db, `ROLLBACK PREPARED '${String(gid).replace(/'/g, "''")}'`);
    }
  });

  it('ok without stuck sessions, in one statement after the facts; its own session never counts', async () => {
    const { result, roundTrips } = await runCheck(CHECK, server, db, { params: { ...FAST, 'max-transaction-age': 0 } });
    expect(result.status).toBe('ok');
    expect(roundTrips).toBe(2);
  });

  it('a forgotten prepared transaction: warning; the printed ROLLBACK PREPARED makes it pass', async () => {
    await sql(server, db, "BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'payment''s batch 7'");
    expect((await runCheck(CHECK, server, db, { params: { ...FAST, 'max-prepared-age': 3600 } })).result.status).toBe('ok');
    await sleep(300);
    const { result: r } = await runCheck(CHECK, server, db, { params: FAST });
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/^prepared transaction 'payment''s batch 7' \(owner postgres\) has waited \d+ s for COMMIT PREPARED/);
    expect(await applyPrinted(server, db, r, { filter: (step) => /PREPARED/.test(step.text) })).toEqual(["ROLLBACK PREPARED 'payment''s batch 7';"]);
    expect((await runCheck(CHECK, server, db, { params: FAST })).result.status).toBe('ok');
    expect((await sql(server, db, 'SELECT count(*)::int AS n FROM t'))[0]!.rows[0].n).toBe(0);
  });

  it('a session idle in transaction: warning with pid, user, application and ages, no query text unless asked; pg_terminate_backend makes it pass', async () => {
    const stuck = await session(server, db, 'stuck-app', 'app');
    await stuck.query("BEGIN; INSERT INTO t VALUES (42); SELECT 'secret@example.org'");
    await sleep(700);
    const { result: r } = await runCheck(CHECK, server, db, { params: FAST });
    expect(r.status).toBe('warning');
    const pid = (stuck as unknown as { processID: number }).processID;
    expect(r.findings[0]!.object).toBe(`pid ${pid}`);
    expect(r.message).toMatch(new RegExp(`^session ${pid} \\(user app, application "stuck-app", client 127\\.0\\.0\\.1/32\\) has been idle in transaction for \\d+ s \\(its transaction began \\d+ s ago\\)`));
    expect(JSON.stringify(r)).not.toContain('secret@example.org');
    const shown = (await runCheck(CHECK, server, db, { params: { ...FAST, 'show-query': true } })).result;
    expect(shown.message).toContain("Query: BEGIN; INSERT INTO t VALUES (42); SELECT 'secret@example.org'");

    expect(await applyPrinted(server, db, r, { filter: (step) => /pg_terminate_backend/.test(step.text) })).toEqual([`SELECT pg_terminate_backend(${pid});`]);
    await sleep(100);
    expect((await runCheck(CHECK, server, db, { params: FAST })).result.status).toBe('ok');
    await stuck.end().catch(() => undefined);
  });

  it('the printed idle_in_transaction_session_timeout settings apply, and the role one ends the next idle session by itself', async () => {
    const first = await session(server, db, 'stuck-app', 'app');
    await first.query('BEGIN; SELECT 1');
    await sleep(1200);
    const { result: r } = await runCheck(CHECK, server, db, { params: { ...FAST, 'max-idle-in-transaction': 1 } });
    expect(r.status).toBe('warning');
    // The database- and server-wide variants: they must run as printed; undo them afterwards.
    const wide = await applyPrinted(server, db, r, { filter: (step) => /ALTER (DATABASE|SYSTEM)|pg_reload_conf/.test(step.text) });
    expect(wide).toEqual([
      `ALTER DATABASE "${db}" SET idle_in_transaction_session_timeout = '1s';`,
      "ALTER SYSTEM SET idle_in_transaction_session_timeout = '1s';",
      'SELECT pg_reload_conf();',
    ]);
    await sql(server, db, `ALTER DATABASE "${db}" RESET idle_in_transaction_session_timeout`);
    await sql(server, db, 'ALTER SYSTEM RESET idle_in_transaction_session_timeout');
    await sql(server, db, 'SELECT pg_reload_conf()');

    expect(await applyPrinted(server, db, r, { filter: (step) => /ALTER ROLE/.test(step.text) })).toEqual([`ALTER ROLE "app" SET idle_in_transaction_session_timeout = '1s';`]);
    await applyPrinted(server, db, r, { filter: (step) => /pg_terminate_backend/.test(step.text) });
    const next = await session(server, db, 'stuck-app', 'app');
    await next.query('BEGIN; SELECT 1');
    await sleep(1500);
    // The server ended it after 1 s: nothing left to report even at half a second.
    expect((await runCheck(CHECK, server, db, { params: FAST })).result.status).toBe('ok');
    await expect(next.query('SELECT 1')).rejects.toThrow();
    await sql(server, db, 'ALTER ROLE app RESET idle_in_transaction_session_timeout');
    await first.end().catch(() => undefined);
    await next.end().catch(() => undefined);
  });

  it('a long-running statement: warning with its own note; pg_terminate_backend makes it pass', async () => {
    const busy = await session(server, db, 'report-job');
    const running = busy.query('SELECT pg_sleep(30)').catch((e: Error) => e);
    await sleep(1200);
    const { result: r } = await runCheck(CHECK, server, db, { params: FAST });
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/has run one transaction for \d+ s \(active, current query started /);
    expect(r.remediation.some((s) => s.kind === 'text' && s.text.includes('stuck migration'))).toBe(true);
    expect(r.remediation.some((s) => s.text.includes('idle_in_transaction_session_timeout'))).toBe(false);
    await applyPrinted(server, db, r, { filter: (step) => /pg_terminate_backend/.test(step.text) });
    expect(await running).toBeInstanceOf(Error);
    await sleep(100);
    expect((await runCheck(CHECK, server, db, { params: FAST })).result.status).toBe('ok');
    await busy.end().catch(() => undefined);
  });

  it("other roles' sessions are counted as not inspectable when the role cannot see them", async () => {
    const other = await session(server, db, 'someone-else');
    await other.query('BEGIN; SELECT 1');
    await sleep(700);
    const { result: r } = await runCheck(CHECK, server, db, { params: FAST, user: 'app' });
    expect(r.status).toBe('ok');
    expect(r.message).toContain('1 session of other roles could not be inspected');
    await other.end();
  });
});
