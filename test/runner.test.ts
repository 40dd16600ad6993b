import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { resolveTargets } from '../src/config/resolve.js';
import { allChecks } from '../src/registry.js';
import { runChecks } from '../src/runner.js';
import { defineCheck } from '../src/define-check.js';
import { synapseSchemaSql } from './helpers/fixtures.js';
import { dsnFor } from './helpers/servers.js';

// A server of its own: the transaction counter must not move because of other test files.
let server: ThrowawayServer;
const DB = 'synapse';

async function superuser<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const target = () => resolveTargets({ dsn: dsnFor(server, DB), env: { HOME: '/nonexistent' } }).targets;

beforeAll(async () => {
  server = await startThrowawayServer({ major: 18 });
  await superuser('postgres', (c) => c.query(`CREATE DATABASE ${DB} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`));
  await superuser(DB, (c) => c.query(`${synapseSchemaSql(94)}; CREATE TABLE t (id int PRIMARY KEY)`));
});
afterAll(async () => server?.stop());

describe('the runner stays read-only', () => {
  it('a full check run assigns no transaction id: the server\'s counter does not move', async () => {
    // txid_current_snapshot() reads the next xid without assigning one.
    const nextXid = () => superuser(DB, async (c) => (await c.query('SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x')).rows[0].x as string);
    const before = await nextXid();
    const report = await runChecks({ targets: target(), checks: allChecks() });
    expect(report.targets[0]!.error).toBeUndefined();
    expect(report.targets[0]!.results.length).toBe(allChecks().length);
    expect(await nextXid()).toBe(before);
  });

  it('sessions run READ ONLY with statement_timeout, lock_timeout and application_name set', async () => {
    const probe = defineCheck({
      id: 'probe-session',
      title: 'probe',
      description: 'reads the session settings',
      docs: 'test only',
      async run(ctx) {
        const [row] = await ctx.query(`SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS st,
          current_setting('lock_timeout') AS lt, current_setting('application_name') AS app, current_setting('transaction_isolation') AS iso`);
        return { status: 'info', message: 'session', details: row };
      },
    });
    const report = await runChecks({ targets: target(), checks: [probe], limits: { statementTimeoutMs: 1500, lockTimeoutMs: 700 } });
    expect(report.targets[0]!.results[0]!.details).toEqual({ ro: 'on', st: '1500ms', lt: '700ms', app: 'pg-preflight', iso: 'repeatable read' });
  });

  it('a check that writes, throws or times out is "failed"; the checks after it still run', async () => {
    const writer = defineCheck({ id: 'writer', title: 'w', description: 'w', docs: 'w', run: async (ctx) => { await ctx.query('INSERT INTO t VALUES (1)'); return { status: 'ok', message: 'wrote' }; } });
    const nextval = defineCheck({ id: 'nextval', title: 'n', description: 'n', docs: 'n', run: async (ctx) => { await ctx.query("CREATE TEMP TABLE x (i int)"); return { status: 'ok', message: 'temp table' }; } });
    const thrower = defineCheck({ id: 'thrower', title: 't', description: 't', docs: 't', run: async () => { throw new Error('boom'); } });
    const sleeper = defineCheck({ id: 'sleeper', title: 's', description: 's', docs: 's', run: async (ctx) => { await ctx.query('SELECT pg_sleep(5)'); return { status: 'ok', message: 'slept' }; } });
    const report = await runChecks({ targets: target(), checks: [writer, nextval, thrower, sleeper, ...allChecks()], limits: { statementTimeoutMs: 300 } });
    const results = report.targets[0]!.results;
    expect(results.slice(0, 4).map((r) => [r.id, r.status])).toEqual([['writer', 'failed'], ['nextval', 'failed'], ['thrower', 'failed'], ['sleeper', 'failed']]);
    expect(results[0]!.message).toContain('read-only transaction');
    expect(results[0]!.details).toEqual({ sqlstate: '25006' });
    expect(results[2]!.message).toContain('boom');
    expect(results[3]!.message).toContain('statement timeout');
    // Each later check gets a fresh transaction: none fails for the earlier failures.
    expect(results.slice(4).filter((r) => r.status === 'failed')).toEqual([]);
    expect(await superuser(DB, async (c) => (await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n)).toBe(0);
  });

  it('a lock held by someone else ends in lock_timeout, not a hang', async () => {
    const holder = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: DB });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
      const reader = defineCheck({ id: 'reader', title: 'r', description: 'r', docs: 'r', run: async (ctx) => { await ctx.query('SELECT count(*) FROM t'); return { status: 'ok', message: 'read' }; } });
      const report = await runChecks({ targets: target(), checks: [reader], limits: { lockTimeoutMs: 200, statementTimeoutMs: 5000 } });
      expect(report.targets[0]!.results[0]!.status).toBe('failed');
      expect(report.targets[0]!.results[0]!.message).toContain('lock timeout');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('facts come in one round trip with BEGIN, schema_version included', async () => {
    const factsOnly = allChecks().filter((c) => ['server-version', 'database-encoding', 'database-locale'].includes(c.id));
    const report = await runChecks({ targets: target(), checks: factsOnly });
    // These three checks read only the facts.
    expect(report.targets[0]!.roundTrips).toBe(1);
    expect(report.targets[0]!.facts!.synapseSchemaVersion).toBe(94);
  });

  it('a full check of a Synapse database costs at most 6 round trips, however many checks run', async () => {
    const report = await runChecks({ targets: target(), checks: allChecks() });
    expect(report.targets[0]!.results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(report.targets[0]!.roundTrips).toBeLessThanOrEqual(6);
  });
});
