// How the sequence reads are cut into statements and messages (src/sequences/batches.ts), that
// what query_to_xml hands back decodes to the rows the arms selected, and how the catalog query
// tells empty tables apart, on every server.
import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../src/config/resolve.js';
import { openSession } from '../src/connection.js';
import { gatherFacts } from '../src/facts.js';
import { decodeRows, savepointMessages, type Arm } from '../src/sequences/batches.js';
import { readSequenceStates, type ReadRequest } from '../src/sequences/state.js';
import type { QueryFn } from '../src/types.js';
import { createDatabase, dsnFor, sharedServers, withClient } from './helpers/servers.js';

const arms = (n: number, weight = 3, cost = 1): Arm[] => Array.from({ length: n }, (_, i) => ({ sql: `SELECT ${i} AS i`, weight, cost }));
const rollbacks = (sql: string) => sql.split(';\n').filter((s) => s.startsWith('ROLLBACK TO SAVEPOINT')).length;

describe('savepointMessages', () => {
  it('from 13, 10,000 reads through indexes go in one message (16 statements, each ending where the locks reach the budget); before 13, in messages of 2,000', () => {
    const modern = savepointMessages(arms(10_000), { lockBudget: 1_952, major: 15 });
    expect(modern.map((m) => [m.arms.length, m.statements])).toEqual([[10_000, Math.ceil(10_000 / 650)]]);
    // 650 arms of 3 locks fit the budget: a rollback after every 650, and the one that ends the message.
    expect(rollbacks(modern[0]!.sql)).toBe(Math.ceil(10_000 / 650));
    const old = savepointMessages(arms(10_000), { lockBudget: 1_952, major: 12 });
    expect(old.map((m) => m.arms.length)).toEqual([2_000, 2_000, 2_000, 2_000, 2_000]);
  });

  it('an expensive arm shortens its statement; one costlier than a statement goes alone; oneMessage never splits', () => {
    const mixed = [...arms(500), ...arms(1, 3, 600), ...arms(10), ...arms(1, 3, 5_000), ...arms(3)];
    const [message] = savepointMessages(mixed, { lockBudget: 1_952, major: 15 });
    const statements = message!.sql.split(';\n').filter((s) => s.startsWith('SELECT query_to_xml'));
    expect(statements.map((s) => s.match(/SELECT \d+ AS i/g)!.length)).toEqual([500, 11, 1, 3]);
    const one = savepointMessages(arms(30_000), { lockBudget: 1_952, major: 15, oneMessage: true });
    expect(one).toHaveLength(1);
    expect(one[0]!.statements).toBe(Math.ceil(30_000 / 650));
  });

  it('an arm heavier than the whole budget still gets its own batch', () => {
    const [message] = savepointMessages([...arms(2, 10), ...arms(1, 5_000), ...arms(2, 10)], { lockBudget: 100, major: 15 });
    expect(message!.arms).toHaveLength(5);
    expect(rollbacks(message!.sql)).toBe(3);
  });
});

describe.each(sharedServers())('the rows of a message, on $name', (server) => {
  it('come back as the arms selected them: numbers, booleans, NULLs, arrays, and text holding XML and JSON specials', async () => {
    const db = await createDatabase(server, 'batch_rows');
    const special = `a<b>&c "quoted" \\ back\r\nslash ' quote ünï`;
    const selected = Array.from({ length: 60 }, (_, i) => ({
      sql: `SELECT ${i} AS i, ${i % 2 === 0} AS c, NULL::text AS l, ARRAY['${i}', NULL]::text[] AS m, E'${special.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\r/g, '\\r').replace(/\n/g, '\\n')}' AS t`,
      weight: 1,
    }));
    const messages = savepointMessages(selected, { lockBudget: 1_000, major: server.major });
    expect(messages).toHaveLength(1);
    const rows = await withClient(server, db, async (c) => {
      await c.query('BEGIN');
      const results = (await c.query(messages[0]!.sql)) as unknown as { rows: Record<string, unknown>[] }[];
      await c.query('COMMIT');
      return decodeRows(results.flatMap((r) => r.rows));
    });
    expect(rows).toHaveLength(60);
    expect(rows[7]).toEqual({ i: 7, c: false, l: null, m: ['7', null], t: special });
    expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });
});

describe.each(sharedServers())('the catalog of sequences, on $name', (server) => {
  it('a superuser refused pg_stat_file (as on hosted servers) gets the same answer through pg_relation_size', async () => {
    const empties = Array.from({ length: 5 }, (_, i) => `CREATE TABLE e${i} (id serial PRIMARY KEY);`).join('\n');
    const db = await createDatabase(server, 'cat_refused', { setup: `${empties}\nCREATE TABLE full_t (id serial PRIMARY KEY); INSERT INTO full_t (id) VALUES (3);` });
    const session = await openSession(resolveTargets({ dsn: dsnFor(server, db), env: { HOME: '/nonexistent' } }).targets[0]!);
    try {
      const facts = await gatherFacts(session);
      expect(facts.isSuperuser).toBe(true);
      const req: ReadRequest = { catalogue: [], owned: true, extremes: true, thorough: false, unindexedRowLimit: 100_000, lockBudget: 1000 };
      const sent: string[] = [];
      const refusing: QueryFn = async (sql, params, opts) => {
        sent.push(sql);
        if (sql.includes('pg_stat_file')) throw Object.assign(new Error('permission denied for function pg_stat_file'), { code: '42501' });
        return session.query(sql, params, opts);
      };
      const refused = await readSequenceStates(refusing, facts, req);
      expect(sent.filter((q) => q.includes('pg_stat_file'))).toHaveLength(1);
      expect(sent.filter((q) => q.includes('pg_relation_size(t.oid) = 0'))).toHaveLength(1);
      const plain = await readSequenceStates(session.query, facts, req);
      expect(refused.settled).toBe(5);
      expect(plain.settled).toBe(5);
      expect(refused.states.map((x) => [x.name, x.lastValue, x.columns[0]!.bound])).toEqual(plain.states.map((x) => [x.name, x.lastValue, x.columns[0]!.bound]));
      expect(plain.states.map((x) => [x.name, x.columns[0]!.bound])).toEqual([['full_t_id_seq', 3n]]);
    } finally {
      await session.close();
    }
  });
});
