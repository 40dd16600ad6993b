import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../src/config/resolve.js';
import { openSession } from '../src/connection.js';
import { gatherFacts } from '../src/facts.js';
import { createQueryBatcher, inlineParams } from '../src/query-batcher.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';

describe('inlineParams', () => {
  it('replaces $n with literals, and leaves quoted text, identifiers, comments and dollar quotes alone', () => {
    expect(inlineParams(`SELECT $1, '$1', "$2", $2 -- $1\n/* $2 */, $tag$ $1 $tag$, $10`, ['a', "it's\\", 3, 4, 5, 6, 7, 8, 9, [1, null]])).toBe(
      `SELECT 'a', '$1', "$2", E'it''s\\\\' -- $1\n/* $2 */, $tag$ $1 $tag$, '{"1",NULL}'`,
    );
    expect(inlineParams('SELECT $1::int, $2, $3', [7, null, true])).toBe("SELECT '7'::int, NULL, true");
    expect(() => inlineParams('SELECT $2', ['x'])).toThrow(/has \$2 but 1 parameters/);
  });
});

describe.each(sharedServers())('the query batcher on $name', (server) => {
  it('queries issued together share one round trip; a failing one fails alone and leaves the transaction usable', async () => {
    const db = await createDatabase(server, 'qb', { setup: `CREATE TABLE "t'x" (id int); INSERT INTO "t'x" VALUES (1), (2)` });
    const session = await openSession(resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets[0]!);
    try {
      await gatherFacts(session);
      const before = session.roundTrips();
      const { query } = createQueryBatcher((sql, opts) => session.queryEach(sql, opts));
      const [a, b, c] = await Promise.all([
        query<{ n: number }>('SELECT count(*)::int AS n FROM "t\'x" WHERE id >= $1', [2]),
        query<{ s: string }>("SELECT $1::text AS s; SELECT 'second' AS s", ["quote ' and $1"]),
        query<{ v: string[] }>('SELECT $1::text[] AS v', [['a', 'b"c']]),
      ]);
      expect(a).toEqual([{ n: 1 }]);
      expect(b).toEqual([{ s: "quote ' and $1" }, { s: 'second' }]);
      expect(c).toEqual([{ v: ['a', 'b"c'] }]);
      expect(session.roundTrips() - before).toBe(1);

      const results = await Promise.allSettled([query('SELECT 1 AS one'), query('SELECT 1/0 AS boom'), query('SELECT 2 AS two')]);
      expect(results[0]).toEqual({ status: 'fulfilled', value: [{ one: 1 }] });
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
      expect(results[2]).toEqual({ status: 'fulfilled', value: [{ two: 2 }] });
      // Still the same read-only transaction, still usable.
      expect(await query("SELECT current_setting('transaction_read_only') AS ro")).toEqual([{ ro: 'on' }]);
    } finally {
      await session.close();
    }
  });

  it('a shareable read sent alike by two callers in one round runs once; a query not marked shareable runs for each', async () => {
    const db = await createDatabase(server, 'qb_share');
    const session = await openSession(resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets[0]!);
    try {
      await gatherFacts(session);
      const { query } = createQueryBatcher((sql, opts) => session.queryEach(sql, opts));
      const sql = "SELECT clock_timestamp()::text AS at, $1::text AS who";
      const [a, b, c] = await Promise.all([
        query<{ at: string }>(sql, ['x'], { shareable: true }),
        query<{ at: string }>(sql, ['x'], { shareable: true }),
        query<{ at: string }>(sql, ['x']),
      ]);
      // clock_timestamp() differs between executions of one message's statements: one shared
      // execution gives both callers the same instant, the unmarked one its own.
      expect(a).toBe(b);
      expect(c[0]!.at).not.toBe(a[0]!.at);
    } finally {
      await session.close();
    }
  });
});
