// The run's second session (src/beside-session.ts): it reads the first session's snapshot, the
// checks that count or list sessions leave it out (src/own-sessions.ts), and the run keeps to the
// first session, with the same findings, where the snapshot cannot be exported, where exporting
// fails, and when the second session is lost after its first message.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import connectionBudget from '../checks/connection-budget.js';
import longTransactions from '../checks/long-transactions.js';
import sequenceDrift from '../checks/sequence-drift.js';
import xidWraparound from '../checks/xid-wraparound.js';
import { openBeside, type BesideSession } from '../src/beside-session.js';
import { resolveTargets } from '../src/config/resolve.js';
import type { DatabaseTarget } from '../src/config/target.js';
import { DEFAULT_LIMITS, openSession, type Session } from '../src/connection.js';
import { readFacts } from '../src/facts.js';
import { readerSessions } from '../src/reader-sessions.js';
import { notOwnSession } from '../src/own-sessions.js';
import { runChecks, type TargetReport } from '../src/runner.js';
import { dsnFor, privateServer, sharedServers, sql, withClient } from './helpers/servers.js';

const targetsOf = (dsn: string) => resolveTargets({ dsn, env: { HOME: '/nonexistent' } }).targets;
const CHECKS = [connectionBudget, xidWraparound, longTransactions, sequenceDrift];
const outcome = (t: TargetReport) => t.results.map((r) => [r.id, r.status, r.findings.map((f) => [f.code, f.object])]);
const details = (t: TargetReport, id: string) => t.results.find((r) => r.id === id)!.details ?? {};

describe.each(sharedServers())('the second session, on $name', (shared) => {
  // A private server of the same kind: no other test's sessions to count, and a data directory
  // this test may make unwritable. Two tables whose sequences are behind, and a role that is not
  // a superuser.
  const DB = 'beside';
  const priv = privateServer(shared.spec, DB, `CREATE TABLE a (id serial PRIMARY KEY); INSERT INTO a (id) VALUES (5);
      CREATE TABLE b (id bigserial PRIMARY KEY); INSERT INTO b (id) VALUES (7);
      CREATE ROLE plain LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO plain; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO plain;`);

  // One Synapse process with a pool of 5, so that connection-budget counts.
  const processes = () => [{ name: 'main', pools: [{ label: 'master', server: `${priv.server.host}:${priv.server.port}`, cpMax: 5 }] }];
  const run = (user = 'postgres', secondSession = true) =>
    runChecks({
      targets: targetsOf(dsnFor(priv.server, DB, user)),
      checks: CHECKS,
      inputs: { synapseProcesses: processes() },
      params: { 'sequence-drift': { 'second-session': secondSession } },
      // The next run counts sessions: this one's must be gone.
      closeWaits: true,
    }).then((r) => r.targets[0]!);

  it('reads beside the first with the findings of one session, and no check counts it among the other sessions', async () => {
    // One session of the test's own stays connected, and nothing else: the setup's sessions end
    // in their own time, so they are waited for first.
    const held = new pg.Client({ host: priv.server.host, port: priv.server.port, user: 'postgres', database: 'postgres' });
    await held.connect();
    try {
      for (let tries = 0; ; tries++) {
        const { rows } = await held.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
        if (rows[0].n === 0) break;
        if (tries > 200) throw new Error('other sessions stayed connected to the private server');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const two = await run();
      const one = await run('postgres', false);
      expect(two.readerRoundTrips).toBeGreaterThanOrEqual(1);
      expect(one.readerRoundTrips).toBeUndefined();
      expect(outcome(two)).toEqual(outcome(one));
      const behind = two.results.find((r) => r.id === 'sequence-drift')!.findings.filter((f) => f.code === 'sequence-behind');
      expect(behind.map((f) => f.object)).toEqual(['public.a_id_seq', 'public.b_id_seq']);
      // The test's session (as postgres, the role checked) is the only other one.
      for (const t of [two, one]) {
        expect(details(t, 'connection-budget')).toMatchObject({ inUseByOthers: 0, synapseRoleConnections: 1 });
        expect(details(t, 'xid-wraparound').oldestHolder).toBeUndefined();
      }
    } finally {
      await held.end();
    }
  });

  it('several databases checked at once get no second session each; one at a time they do', async () => {
    const [target] = targetsOf(dsnFor(priv.server, DB));
    const both = (jobs: number) => runChecks({ targets: [target!, target!], checks: CHECKS, inputs: { synapseProcesses: processes() }, jobs, closeWaits: true });
    const together = await both(4);
    const inTurn = await both(1);
    expect(together.targets.map((t) => t.besideRoundTrips)).toEqual([undefined, undefined]);
    expect(inTurn.targets.map((t) => t.besideRoundTrips)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(together.targets.map(outcome)).toEqual(inTurn.targets.map(outcome));
  });

  /**
   * A first session whose facts exported the snapshot, and a second session logging in beside it
   * (not yet told the snapshot), as the runner has them; both closed after `body`.
   */
  const withSessions = async (body: (s: { target: DatabaseTarget; first: Session; beside: BesideSession; snapshot: string }) => Promise<void>) => {
    const target = targetsOf(dsnFor(priv.server, DB))[0]!;
    const first = await openSession(target);
    const beside = openBeside(target, DEFAULT_LIMITS, first);
    try {
      const { snapshot } = await readFacts(first, { exportSnapshot: true });
      expect(snapshot).toEqual(expect.any(String));
      await body({ target, first, beside, snapshot: snapshot! });
    } finally {
      await beside.close();
      await first.close({ wait: true });
    }
  };

  it('pg_stat_activity shows the second session under a name notOwnSession() leaves out, on the first session only', async () => {
    await withSessions(async ({ first, beside, snapshot }) => {
      beside.share(snapshot);
      const [[own]] = (await beside.send('SELECT pg_backend_pid() AS pid, current_setting(\'application_name\') AS name', {})) as [[{ pid: number; name: string }]];
      expect(own.pid).not.toBe(first.pid);
      expect(own.name).toBe(`pg-preflight beside ${first.pid}`);
      // Another session of the same role under pg-preflight's plain name is someone else's run.
      await withClient(priv.server, DB, async (other) => {
        await other.query("SET application_name = 'pg-preflight'");
        const [{ pid }] = (await other.query('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
        // One query: a transaction reads pg_stat_activity once and keeps what it read.
        const [row] = await first.query<{ all: number[]; others: number[] }>(
          `SELECT array_agg(pid) AS all, array_agg(pid) FILTER (WHERE ${notOwnSession()}) AS others FROM pg_stat_activity`,
        );
        expect(row!.all).toEqual(expect.arrayContaining([first.pid, own.pid, pid]));
        const others = row!.others;
        expect(others).toContain(pid);
        expect(others).not.toContain(own.pid);
        expect(others).not.toContain(first.pid);
      });
    });
  });

  it('reads the snapshot of the first session, and when lost after its first message the first session reads on', async () => {
    await withSessions(async ({ first, beside, snapshot }) => {
      // Committed after the first session took its snapshot: neither session may see it.
      await sql(priv.server, DB, 'INSERT INTO a (id) VALUES (100)');
      beside.share(snapshot);
      const count = async () => ((await beside.send('SELECT max(id) AS m, pg_backend_pid() AS pid FROM a', {})) as [[{ m: number; pid: number }]])[0][0];
      const before = await count();
      expect(before.m).toBe(5);
      expect(before.pid).not.toBe(first.pid);
      expect(beside.roundTrips()).toBe(1);
      await sql(priv.server, 'postgres', `SELECT pg_terminate_backend(${before.pid})`);
      const after = await count();
      expect(after).toEqual({ m: 5, pid: first.pid });
    });
  });

  it("a reader of many tables reads the same snapshot, under the run's name for its own sessions", async () => {
    await withSessions(async ({ target, first, snapshot }) => {
      const [{ m: before }] = (await first.query<{ m: number }>('SELECT max(id) AS m FROM a')) as [{ m: number }];
      await sql(priv.server, DB, 'INSERT INTO a (id) VALUES (200)');
      const shared = readerSessions(target, DEFAULT_LIMITS, { firstPid: first.pid, snapshot });
      const unshared = readerSessions(target, DEFAULT_LIMITS, { firstPid: first.pid, snapshot: null });
      try {
        const reader = (await shared.open())!;
        const [row] = await reader.query<{ m: number; name: string }>("SELECT max(id) AS m, current_setting('application_name') AS name FROM a");
        expect(before).toBeLessThan(200);
        expect(row).toEqual({ m: before, name: `pg-preflight beside ${first.pid}` });
        // Without a snapshot to share, its own: the rows committed since are there.
        const own = (await unshared.open())!;
        expect((await own.query<{ m: number }>('SELECT max(id) AS m FROM a'))[0]!.m).toBe(200);
      } finally {
        await Promise.all([shared.close({ wait: true }), unshared.close({ wait: true })]);
      }
    });
  });

  it('keeps to one session where the role may not export the snapshot, and where exporting fails', async () => {
    const one = await run('postgres', false);
    await sql(priv.server, DB, 'REVOKE EXECUTE ON FUNCTION pg_catalog.pg_export_snapshot() FROM PUBLIC');
    try {
      const denied = await run('plain');
      expect(denied.readerRoundTrips).toBeUndefined();
      expect(outcome(denied)).toEqual(outcome(await run('plain', false)));
    } finally {
      await sql(priv.server, DB, 'GRANT EXECUTE ON FUNCTION pg_catalog.pg_export_snapshot() TO PUBLIC');
    }
    // The export writes a file under the data directory; where it cannot, the facts are read
    // again without it (owner-only bits: the server's own account is refused too).
    const snapshots = join(priv.server.dataDir, 'pg_snapshots');
    chmodSync(snapshots, 0o500);
    try {
      const failed = await run();
      expect(failed.error).toBeUndefined();
      expect(failed.readerRoundTrips).toBeUndefined();
      expect(outcome(failed)).toEqual(outcome(one));
    } finally {
      chmodSync(snapshots, 0o700);
    }
    expect((await run()).readerRoundTrips).toBeGreaterThanOrEqual(1);
  });
});
