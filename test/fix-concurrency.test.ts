// `fix --apply --force` while the application keeps writing (issue 10 item 9): no id may be
// handed out twice, and every sequence ends at or past its rows. The interleaving is built with a
// second client holding the open transaction, and the fix's wait is observed in pg_locks.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { fixSequences } from '../src/fix.js';
import { runCheck } from './helpers/check.js';
import { createDatabase, dsnFor, sharedServers, sql, type SharedServer } from './helpers/servers.js';

async function client(server: SharedServer, db: string, applicationName: string): Promise<pg.Client> {
  const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: db, application_name: applicationName });
  await c.connect();
  return c;
}

/** Polls a condition on the server's state (not a duration): gives up after a generous bound. */
async function waitUntil(what: string, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether some session waits for a lock on the relation. */
async function someoneWaitsFor(server: SharedServer, db: string, relation: string): Promise<boolean> {
  const [r] = await sql(server, db, `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = to_regclass('${relation}')`);
  return r!.rows[0].n > 0;
}

const LIMITS = { lockTimeoutMs: 60_000, statementTimeoutMs: 60_000 };

describe.each(sharedServers())('fix --apply --force while writers write, PostgreSQL $major', (server) => {
  it('the issue\'s interleaving: ids a writer takes while fix waits for the sequence are not handed out again', async () => {
    // No unique key: a second 1,001 would be silent duplication, not an error.
    const db = await createDatabase(server, 'fix_race', {
      setup: [
        "CREATE TABLE t (id integer NOT NULL, who text NOT NULL DEFAULT 'writer')",
        'CREATE SEQUENCE t_id_seq OWNED BY t.id',
        "ALTER TABLE t ALTER COLUMN id SET DEFAULT nextval('t_id_seq')",
        'CREATE INDEX ON t (id)',
        "INSERT INTO t (id, who) SELECT g, 'loaded' FROM generate_series(1, 1000) g",
        "SELECT setval('t_id_seq', 900)",
      ].join(';\n'),
    });
    const writer = await client(server, db, 'writer');
    try {
      await writer.query('BEGIN');
      const first = await writer.query('INSERT INTO t DEFAULT VALUES RETURNING id');
      expect(first.rows[0].id).toBe(901);
      const fix = fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true, force: true, limits: LIMITS });
      // The fix has planned (the check saw rows to 1,000) and now waits for the writer's lock.
      await waitUntil('fix to wait for t_id_seq', () => someoneWaitsFor(server, db, 't_id_seq'));
      const more = await writer.query('INSERT INTO t SELECT FROM generate_series(1, 200) RETURNING id');
      expect(Math.max(...more.rows.map((r) => r.id))).toBe(1101);
      await writer.query('COMMIT');
      const report = await fix;
      expect(report.exitCode).toBe(0);
      const t = report.targets[0]!;
      expect(t.plan.map((p) => [p.object, p.summary])).toEqual([['public.t_id_seq', expect.stringMatching(/last value 901, .*holds 1000/)]]);
      // Read under the lock, after the writer committed: the sequence was already past its rows.
      expect(t.applied!.map((a) => [a.object, a.before.lastValue, a.after.lastValue])).toEqual([['public.t_id_seq', '1101', '1101']]);
      // The checks' catalog and value reads, and the facts; then one message refuses or locks and reads.
      expect([t.checkRoundTrips, t.roundTripsBeforeWrite]).toEqual([3, 1]);
    } finally {
      await writer.end();
    }
    await sql(server, db, "INSERT INTO t (who) SELECT 'after' FROM generate_series(1, 3)");
    const [r] = await sql(
      server,
      db,
      `SELECT (SELECT array_agg(id ORDER BY id) FROM t WHERE who = 'after') AS after,
              (SELECT count(*) - count(DISTINCT id) FROM t WHERE who <> 'loaded')::int AS repeated,
              (SELECT last_value FROM t_id_seq)::int AS last`,
    );
    expect(r!.rows[0]).toEqual({ after: [1102, 1103, 1104], repeated: 0, last: 1104 });
    expect((await runCheck(server, db, 'sequence-drift')).status).toBe('ok');
  });

  it('writers in three sessions insert throughout the fix: no id handed out twice, every sequence at or past its rows', async () => {
    const tables = ['a', 'b', 'c', 'd'];
    const db = await createDatabase(server, 'fix_writers', {
      setup: tables
        .map((x, i) =>
          [
            `CREATE TABLE ${x} (id bigint NOT NULL, who text NOT NULL DEFAULT 'writer')`,
            `CREATE SEQUENCE ${x}_id_seq OWNED BY ${x}.id`,
            `ALTER TABLE ${x} ALTER COLUMN id SET DEFAULT nextval('${x}_id_seq')`,
            `CREATE INDEX ON ${x} (id)`,
            `INSERT INTO ${x} (id, who) SELECT g, 'loaded' FROM generate_series(1, ${500 + 100 * i}) g`,
          ].join(';\n'),
        )
        .join(';\n'),
    });
    let fixed = false;
    let stop = false;
    const afterFix: Record<string, number[]> = Object.fromEntries(tables.map((x) => [x, []]));
    const writers = await Promise.all([1, 2, 3].map((n) => client(server, db, `writer_${n}`)));
    const done = writers.map(() => 0);
    const loops = writers.map(async (w, n) => {
      // Bounded: the loop ends when told to, or after this many inserts whatever happens.
      for (let k = 0; k < 20_000 && !stop; k++) {
        const table = tables[(k + n) % tables.length]!;
        const wasFixed = fixed;
        const r = await w.query(`INSERT INTO ${table} DEFAULT VALUES RETURNING id::int AS id`);
        if (wasFixed) afterFix[table]!.push(r.rows[0].id);
        done[n]!++;
      }
    });
    try {
      await waitUntil('every writer to be writing', async () => done.every((d) => d >= 5));
      const report = await fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true, force: true, limits: LIMITS });
      fixed = true;
      expect(report.exitCode).toBe(0);
      expect(report.targets[0]!.plan.map((p) => p.object).sort()).toEqual(tables.map((x) => `public.${x}_id_seq`));
      const at = done.slice();
      await waitUntil('every writer to insert after the fix', async () => done.every((d, i) => d >= at[i]! + 8));
    } finally {
      stop = true;
      await Promise.all(loops).finally(() => Promise.all(writers.map((w) => w.end())));
    }
    for (const x of tables) {
      const [r] = await sql(
        server,
        db,
        `SELECT (SELECT count(*) - count(DISTINCT id) FROM ${x} WHERE who = 'writer')::int AS repeated,
                (SELECT max(id) FROM ${x} WHERE who = 'loaded')::int AS loaded_max,
                (SELECT last_value FROM ${x}_id_seq)::int AS last, (SELECT max(id) FROM ${x})::int AS max`,
      );
      const row = r!.rows[0];
      // Ids the sequence handed out never repeat; those handed out after the fix are past every row.
      expect({ table: x, repeated: row.repeated }).toEqual({ table: x, repeated: 0 });
      expect(afterFix[x]!.length).toBeGreaterThan(0);
      expect(Math.min(...afterFix[x]!)).toBeGreaterThan(row.loaded_max);
      expect(row.last).toBeGreaterThanOrEqual(row.max);
    }
    expect((await runCheck(server, db, 'sequence-drift')).status).toBe('ok');
  });

  it('--force with other sessions connected: a sequence the role does not own (setval only, no lock) is left alone and reported', async () => {
    const db = await createDatabase(server, 'fix_notowner_force', {
      setup: 'CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t (id) SELECT generate_series(1, 25); CREATE TABLE mine (id integer); INSERT INTO mine VALUES (7);',
    });
    const role = `fixer_${db}`;
    await sql(server, db, `CREATE ROLE ${role} LOGIN; GRANT SELECT ON t TO ${role}; GRANT SELECT, UPDATE ON SEQUENCE t_id_seq TO ${role}`);
    // One sequence the role does own, so that the same run also applies something.
    await sql(server, db, `CREATE SEQUENCE mine_seq; ALTER TABLE mine OWNER TO ${role}; ALTER SEQUENCE mine_seq OWNER TO ${role}; ALTER SEQUENCE mine_seq OWNED BY mine.id`);
    const other = await client(server, db, 'synapse');
    try {
      const r = await fixSequences({ dsn: dsnFor(server, db, role), env: {}, apply: true, force: true });
      const t = r.targets[0]!;
      expect(r.exitCode).toBe(1);
      expect(t.applied!.map((a) => [a.object, a.changed, a.after.lastValue, a.refused ?? null])).toEqual([
        ['public.mine_seq', true, '7', null],
        ['public.t_id_seq', false, '1', expect.stringMatching(/^not applied: the role does not own it, so it could only setval it, which cannot keep the 1 other session from taking ids meanwhile/)],
      ]);
      expect(t.remaining!.map((p) => ('object' in p ? p.object : ''))).toEqual(['public.t_id_seq']);
    } finally {
      await other.end();
    }
    // With nobody else connected, setval is safe again.
    const alone = await fixSequences({ dsn: dsnFor(server, db, role), env: {}, apply: true });
    expect(alone.exitCode).toBe(0);
    expect(alone.targets[0]!.applied!.map((a) => [a.object, a.after.lastValue])).toEqual([['public.t_id_seq', '25']]);
  });
});
