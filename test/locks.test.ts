// A table another session holds ACCESS EXCLUSIVE on (a migration, VACUUM FULL, CLUSTER, a bare
// LOCK TABLE) must not hide the rest: it is named with its holder, every other object is read.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { resolveTargets } from '../src/config/resolve.js';
import { openSession } from '../src/connection.js';
import SEQUENCE_DRIFT from '../checks/sequence-drift.js';
import { sequenceCatalogSql } from '../src/sequences/catalog-query.js';
import { readSequenceStates } from '../src/sequences/state.js';
import { gatherFacts } from '../src/facts.js';
import { runCheck } from '../src/testing/index.js';
import type { CheckResult, QueryFn } from '../src/types.js';
import { fixtureSql } from './helpers/fixtures.js';
import { createDatabase, dsnFor, sharedServers, type SharedServer } from './helpers/servers.js';

const LIMITS = { lockTimeoutMs: 300, statementTimeoutMs: 5000, connectTimeoutMs: 5000 };
const targets = (server: SharedServer, db: string) => resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets;

const drift = async (server: SharedServer, db: string): Promise<CheckResult> => (await runCheck(SEQUENCE_DRIFT, server, db, { limits: LIMITS })).result;

/** A second session, named like the tool a user would see in pg_stat_activity, holding a lock. */
async function holdLock(server: SharedServer, db: string, table: string): Promise<{ pid: number; release(): Promise<void> }> {
  const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: db, application_name: 'migration' });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await c.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    pid: rows[0]!.pid,
    async release() {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

const errors = (r: CheckResult) => r.findings.filter((f) => f.status === 'error').map((f) => f.object).sort();

describe.each(sharedServers())('a locked table on $name', (server) => {
  it('Synapse-like: the sequence of the locked table is a warning naming the holder; every other lagging sequence is still found', async () => {
    const db = await createDatabase(server, 'lk_syn', {
      setup: [fixtureSql('synapse/schema.sql'), fixtureSql('sequence-drift/fresh-install.sql'), fixtureSql('sequence-drift/downgrade.sql')].join('\n'),
    });
    const unlocked = await drift(server, db);
    const lock = await holdLock(server, db, 'events');
    let locked: CheckResult;
    try {
      locked = await drift(server, db);
    } finally {
      // The printed remediation: run again once the holder has committed or rolled back.
      await lock.release();
    }
    const warning = locked.findings.find((f) => f.status === 'warning' && f.object === 'public.events_stream_seq')!;
    expect(warning.message).toContain('not compared with public.events.stream_ordering (locked');
    expect(warning.message).toContain(`locked ACCESS EXCLUSIVE by pid ${lock.pid} (user postgres, application migration, idle in transaction for`);
    expect(warning.message).toContain('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    expect(warning.remediation![0]!.text).toContain(`pid ${lock.pid}`);
    expect(warning.details!.notRead).toEqual([expect.objectContaining({ reason: 'locked', lockHolders: [expect.objectContaining({ pid: lock.pid, user: 'postgres', application: 'migration', granted: true })] })]);
    // The two sequences whose rows are in events cannot be shown behind without it (the other
    // tables of events_stream_seq hold smaller ids); every other lagging sequence still is.
    expect(locked.findings.filter((f) => f.status === 'warning').map((f) => f.object).sort()).toEqual(['public.events_backfill_stream_seq', 'public.events_stream_seq']);
    expect(errors(locked)).toEqual(errors(unlocked).filter((o) => !['public.events_backfill_stream_seq', 'public.events_stream_seq'].includes(o!)));
    expect(errors(locked)).toHaveLength(6);
    const after = await drift(server, db);
    expect(after.findings.filter((f) => f.status === 'warning')).toEqual([]);
    expect(after.findings.map((f) => [f.object, f.status])).toEqual(unlocked.findings.map((f) => [f.object, f.status]));
  });

  it('a generic application: a hostile table name is quoted in the report, its sequence not compared, the others all are', async () => {
    const db = await createDatabase(server, 'lk_app', { setup: fixtureSql('sequence-drift/generic-app.sql') });
    const unlocked = await drift(server, db);
    const lock = await holdLock(server, db, '"My Schema"."Order Lines"');
    let locked: CheckResult;
    try {
      locked = await drift(server, db);
    } finally {
      await lock.release();
    }
    const warning = locked.findings.find((f) => f.status === 'warning')!;
    expect(warning.object).toBe('"My Schema"."My ""odd"" Seq"');
    expect(warning.message).toContain(`"My Schema"."Order Lines"."Line ID" (locked ACCESS EXCLUSIVE by pid ${lock.pid}`);
    // The one sequence of the locked table drops out of the errors; all the others stay.
    expect(errors(locked)).toEqual(errors(unlocked).filter((o) => o !== '"My Schema"."My ""odd"" Seq"'));
    expect((await drift(server, db)).findings.map((f) => [f.object, f.status])).toEqual(unlocked.findings.map((f) => [f.object, f.status]));
  });

  it('a lock taken after the catalog query: the reads wait out lock_timeout once, then read the rest', async () => {
    const db = await createDatabase(server, 'lk_race', { setup: fixtureSql('sequence-drift/generic-app.sql') });
    const session = await openSession(targets(server, db)[0]!, LIMITS);
    let lock: Awaited<ReturnType<typeof holdLock>> | undefined;
    try {
      const facts = await gatherFacts(session);
      // The interleaving, made exact: the lock comes right after the catalog query has answered.
      const query: QueryFn = async (sql, params, opts) => {
        const rows = await session.query(sql, params, opts);
        if (sql === sequenceCatalogSql(facts.major, facts.isSuperuser)) lock = await holdLock(server, db, 'app.orders');
        return rows as never;
      };
      const { states } = await readSequenceStates(query, facts, { catalogue: [], owned: true, extremes: true, thorough: false, unindexedRowLimit: 100_000, lockBudget: 1000 });
      const orders = states.find((s) => s.name === 'orders_id_seq')!;
      expect(orders.columns[0]!.unread).toEqual({ code: 'locked', holders: [expect.objectContaining({ pid: lock!.pid, relation: '"app"."orders"' })] });
      // Its own value is still read; every other sequence has its table maxima.
      expect(orders.lastValue).toBeDefined();
      const others = states.filter((s) => s !== orders && !s.unreadable);
      expect(others.length).toBeGreaterThan(5);
      for (const s of others) for (const c of s.columns) expect(c.bound === undefined && !c.unread).toBe(false);
    } finally {
      await lock?.release();
      await session.close();
    }
  });
});
