// Reads of many tables are shared with a second session (src/reader-sessions.ts, READER_COST in
// src/sequences/state.ts, readInTurn in src/sequences/batches.ts): every lagging sequence is
// still found, with one session when a second cannot be had, and when the second dies or times
// out before it has read its half.
import { describe, expect, it } from 'vitest';
import CHECK from '../checks/sequence-drift.js';
import { resolveTargets } from '../src/config/resolve.js';
import { DEFAULT_LIMITS, openSession } from '../src/connection.js';
import { gatherFacts } from '../src/facts.js';
import { readerSessions } from '../src/reader-sessions.js';
import { halves, readInTurn, type Arm } from '../src/sequences/batches.js';
import { READER_COST, readSequenceStates, type ReadRequest } from '../src/sequences/state.js';
import { runCheck } from '../src/testing/index.js';
import type { QueryFn, QueryOptions, ReaderSession } from '../src/types.js';
import { runCli } from './helpers/cli.js';
import { createDatabase, dsnFor, sharedServers, sql, uniqueName } from './helpers/servers.js';

describe('halves', () => {
  it('cuts the arms where half their cost is reached, in order', () => {
    const arm = (cost: number): Arm => ({ sql: 'SELECT 1', weight: 1, cost });
    const [a, b] = halves([arm(1), arm(1), arm(6), arm(1), arm(1)]);
    expect([a.map((x) => x.cost), b.map((x) => x.cost)]).toEqual([[1, 1], [6, 1, 1]]);
    const [c, d] = halves(Array.from({ length: 9 }, () => arm(1)));
    expect([c.length, d.length]).toEqual([4, 5]);
    expect(halves([])).toEqual([[], []]);
  });
});

describe('readInTurn', () => {
  const later = <T>() => {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it('reads every message once: here from the start, there once it is ready', async () => {
    const where: string[] = [];
    const firstHere = later<void>();
    const here = async (m: number) => {
      if (m === 0) await firstHere.promise;
      where.push(`here ${m}`);
      return [m];
    };
    const ready = later<((m: number) => Promise<number[]>) | undefined>();
    const taken: number[] = [];
    const done = readInTurn([0, 1, 2, 3], here, ready.promise, (rows) => taken.push(...rows));
    ready.resolve(async (m) => {
      where.push(`there ${m}`);
      await tick();
      return [m];
    });
    await tick();
    firstHere.resolve();
    await done;
    expect(taken.sort()).toEqual([0, 1, 2, 3]);
    expect(where[0]).toBe('there 1');
    expect(where.filter((w) => w.startsWith('here'))).toContain('here 0');
    await readInTurn([5, 6], async (m) => [m], undefined, (rows) => taken.push(...rows));
    expect(taken).toContain(6);
  });

  it('reads again here what there failed to read, and throws a statement timeout there once the rest is back', async () => {
    const taken: number[] = [];
    const slow = later<void>();
    const here = async (m: number) => {
      if (m === 0) await slow.promise;
      return [m];
    };
    const failing = Promise.resolve(async (): Promise<number[]> => {
      throw new Error('connection lost');
    });
    const done = readInTurn([0, 1, 2], here, failing, (rows) => taken.push(...rows));
    await tick();
    slow.resolve();
    await done;
    expect(taken.sort()).toEqual([0, 1, 2]);

    const timingOut = Promise.resolve(async (): Promise<number[]> => {
      throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    });
    const again = later<void>();
    const waiting = readInTurn([0, 1], async (m) => (m === 0 ? (await again.promise, [m]) : [m]), timingOut, () => undefined);
    await tick();
    again.resolve();
    await expect(waiting).rejects.toMatchObject({ code: '57014' });
  });
});

/**
 * Tables with a row each, every sequence behind it: reads of more than twice READER_COST, so that
 * the first session is still reading its half when the second has logged in.
 */
const TABLES = 2 * READER_COST + 200;
const SETUP = `DO $$ BEGIN
  FOR i IN 1..${TABLES} LOOP
    EXECUTE format('CREATE TABLE r%s (id serial PRIMARY KEY); INSERT INTO r%s (id) VALUES (%s)', i, i, i + 1);
  END LOOP;
END $$;`;

describe.each(sharedServers())('reads beside a second session, on $name', (server) => {
  const request: ReadRequest = { catalogue: [], owned: true, extremes: true, thorough: false, unindexedRowLimit: 100_000, lockBudget: 1_000 };
  let made: Promise<string> | undefined;
  const database = () => (made ??= createDatabase(server, 'reader', { setup: SETUP }));

  it('finds every lagging sequence with half the reads on a second session, and with one session where the role may open no second or the user says so', async () => {
    const db = await database();
    const both = await runCheck(CHECK, server, db);
    const behind = (findings: { code: string; object?: string }[]) => findings.filter((f) => f.code === 'sequence-behind').map((f) => f.object).sort();
    expect(behind(both.result.findings)).toHaveLength(TABLES);
    expect(both.report.targets[0]!.readerRoundTrips).toBeGreaterThanOrEqual(1);

    const role = uniqueName('one_session');
    await sql(server, db, `CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};`);
    const one = await runCheck(CHECK, server, db, { user: role });
    expect(one.report.targets[0]!.readerRoundTrips).toBeUndefined();
    expect(behind(one.result.findings)).toEqual(behind(both.result.findings));

    const asked = await runCheck(CHECK, server, db, { set: ['second-session=false'] });
    expect(asked.report.targets[0]!.readerRoundTrips).toBeUndefined();
    expect(behind(asked.result.findings)).toEqual(behind(both.result.findings));

    // The JSON says what the second session sent, and the README's flag keeps to one connection.
    const json = async (...more: string[]) =>
      JSON.parse((await runCli(['check', '--dsn', dsnFor(server, db), '--only', 'sequence-drift', '--format', 'json', ...more])).stdout) as {
        target: { roundTrips: number; readerRoundTrips?: number };
        results: { findings: { code: string; object?: string }[] }[];
      };
    const cli = await json();
    expect(cli.target.readerRoundTrips).toBeGreaterThanOrEqual(1);
    expect(behind(cli.results[0]!.findings)).toEqual(behind(both.result.findings));
    const single = await json('--set', 'sequence-drift.second-session=false');
    expect(single.target).not.toHaveProperty('readerRoundTrips');
    // By default the check's reads all go beside (src/beside-session.ts): the first session sends the facts alone.
    expect(cli.target.roundTrips).toBe(1);
    expect(single.target.roundTrips).toBeGreaterThan(1);
    expect(behind(single.results[0]!.findings)).toEqual(behind(both.result.findings));
  });

  it('a second session that dies before it reads, or times out, leaves its half to the first or fails the read as a timeout', async () => {
    const db = await database();
    const target = resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets[0]!;
    const session = await openSession(target);
    const readers = readerSessions(target, DEFAULT_LIMITS, { firstPid: session.pid, snapshot: null });
    try {
      const facts = await gatherFacts(session);
      const alone = await readSequenceStates(session.query, facts, request);
      // The first session's reads wait until the second has sent its own: each then has a half.
      const paired = () => {
        let sent = () => {};
        const readerSent = new Promise<void>((resolve) => (sent = resolve));
        const first: QueryFn = async (text, params, opts) => {
          if (text.includes('query_to_xml')) await readerSent;
          return session.query(text, params, opts);
        };
        const query: QueryFn = <R extends Record<string, unknown>>(text: string, params?: unknown[], opts?: QueryOptions) => {
          const answer = reader.query<R>(text, params, opts);
          if (text.includes('query_to_xml')) sent();
          return answer;
        };
        let reader: ReaderSession;
        const second = (opened: ReaderSession): ReaderSession => {
          reader = opened;
          return { ...opened, query };
        };
        return { first, second };
      };
      const dies = paired();
      let killed = false;
      const dying = async (): Promise<ReaderSession | undefined> => {
        const reader = (await readers.open())!;
        const [row] = await reader.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        killed = (await sql(server, db, `SELECT pg_terminate_backend(${row!.pid}) AS done`))[0]!.rows[0].done === true;
        return dies.second(reader);
      };
      const after = await readSequenceStates(dies.first, facts, { ...request, openReader: dying });
      expect(killed).toBe(true);
      const bounds = (r: typeof alone) => r.states.map((s) => [s.name, s.lastValue, s.columns[0]!.bound]);
      expect(bounds(after)).toEqual(bounds(alone));
      expect(after.states.filter((s) => s.columns[0]!.bound! > 0n)).toHaveLength(TABLES);

      const slow = paired();
      const hurried = async (): Promise<ReaderSession | undefined> => {
        const reader = (await readers.open())!;
        await reader.query("SET LOCAL statement_timeout = '1ms'");
        return slow.second(reader);
      };
      await expect(readSequenceStates(slow.first, facts, { ...request, openReader: hurried })).rejects.toMatchObject({ code: '57014' });
    } finally {
      await readers.close();
      await session.close();
    }
  });
});
