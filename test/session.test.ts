// The check session on every server of the matrix: what it pins, and what its time limits mean.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { resolveTargets } from '../src/config/resolve.js';
import { defineCheck } from '../src/define-check.js';
import { runChecks } from '../src/runner.js';
import { createDatabase, dsnFor, sharedServers, type SharedServer } from './helpers/servers.js';

const targets = (server: SharedServer, db: string) => resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets;

const settingsProbe = defineCheck({
  id: 'probe-settings',
  title: 'probe',
  description: 'reads the pinned settings',
  docs: 'test only',
  async run(ctx) {
    const [row] = await ctx.query(`SELECT current_setting('jit', true) AS jit, current_setting('max_parallel_workers_per_gather') AS parallel,
      current_setting('DateStyle') AS datestyle, current_setting('transaction_read_only') AS ro`);
    return { status: 'info', message: 'settings', details: row };
  },
});

const failing = defineCheck({ id: 'failing', title: 'f', description: 'f', docs: 'f', run: async (ctx) => { await ctx.query('SELECT 1/0'); return { status: 'ok', message: 'unreachable' }; } });

describe.each(sharedServers())('the check session on $name', (server) => {
  it('jit is off (where the server has it), no parallel workers, ISO dates; and still so after a check failed', async () => {
    const db = await createDatabase(server, 'sess_pin');
    const report = await runChecks({ targets: targets(server, db), checks: [settingsProbe, failing, { ...settingsProbe, id: 'probe-again' }] });
    const [first, failed, again] = report.targets[0]!.results;
    const expected = { jit: server.major >= 11 ? 'off' : null, parallel: '0', datestyle: expect.stringMatching(/^ISO/), ro: 'on' };
    expect(first!.details).toEqual(expected);
    expect(failed!.status).toBe('failed');
    expect(again!.details).toEqual(expected);
  });

  it('a message of many statements may take as long as its statements may: done, not a lost connection', async () => {
    const db = await createDatabase(server, 'sess_long');
    // 12 statements of 0.5 s under a 1 s statement_timeout: 6 s, past the 1 s + 5 s the client
    // used to wait for any message.
    const batch = defineCheck({
      id: 'batch',
      title: 'b',
      description: 'b',
      docs: 'b',
      async run(ctx) {
        const rows = await ctx.query(Array.from({ length: 12 }, (_, i) => `SELECT ${i} AS i, pg_sleep(0.5)::text AS s`).join(';\n'), undefined, { statements: 12 });
        return { status: 'ok', message: `${rows.length} rows` };
      },
    });
    const report = await runChecks({ targets: targets(server, db), checks: [batch], limits: { statementTimeoutMs: 1000 } });
    expect(report.targets[0]!.error).toBeUndefined();
    if (server.major >= 13) expect(report.targets[0]!.results[0]).toMatchObject({ status: 'ok', message: '12 rows' });
    // Before 13 the server's statement_timeout covers the whole message: a timeout, still not a lost connection.
    else expect(report.targets[0]!.results[0]).toMatchObject({ status: 'failed', details: { sqlstate: '57014' } });
  }, 20_000);

  it('a statement over statement_timeout is the check\'s failed result, naming what it read and the flag; the target is not lost', async () => {
    const db = await createDatabase(server, 'sess_slow');
    const slow = defineCheck({ id: 'slow', title: 's', description: 's', docs: 's', run: async (ctx) => { await ctx.query('SELECT pg_sleep(3)', undefined, { purpose: 'counting the rows of every table' }); return { status: 'ok', message: 'slept' }; } });
    const report = await runChecks({ targets: targets(server, db), checks: [slow, settingsProbe], limits: { statementTimeoutMs: 400 } });
    expect(report.targets[0]!.error).toBeUndefined();
    const [r, next] = report.targets[0]!.results;
    expect(r!.status).toBe('failed');
    expect(r!.message).toBe('counting the rows of every table: a statement ran past the statement timeout (0.4 s) and the server cancelled it; raise --statement-timeout, or run it when the server is less busy');
    expect(next!.status).toBe('info');
  });

  it('any check that waits out lock_timeout names who holds ACCESS EXCLUSIVE', async () => {
    const db = await createDatabase(server, 'sess_lock', { setup: 'CREATE TABLE "Locked ""t"""(id int)' });
    const holder = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: db, application_name: 'vacuum-full' });
    await holder.connect();
    try {
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      await holder.query('BEGIN; LOCK TABLE "Locked ""t""" IN ACCESS EXCLUSIVE MODE');
      const reader = defineCheck({ id: 'reader', title: 'r', description: 'r', docs: 'r', run: async (ctx) => { await ctx.query('SELECT count(*) FROM "Locked ""t"""', undefined, { purpose: 'counting rows' }); return { status: 'ok', message: 'read' }; } });
      const report = await runChecks({ targets: targets(server, db), checks: [reader, settingsProbe], limits: { lockTimeoutMs: 200 } });
      const [r, next] = report.targets[0]!.results;
      expect(r!.status).toBe('failed');
      expect(r!.message).toContain(`counting rows: a table stayed locked past the lock timeout (0.2 s): "public"."Locked ""t""" is locked ACCESS EXCLUSIVE by pid ${pid} (user postgres, application vacuum-full, idle in transaction for`);
      expect(r!.details).toMatchObject({ sqlstate: '55P03', lockHolders: [expect.objectContaining({ pid, granted: true })] });
      expect(next!.status).toBe('info');
    } finally {
      await holder.end();
    }
  });
});
