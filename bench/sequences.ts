// `npm run bench`: how the sequence checks scale. Builds databases with 100, 1,000 and 10,000
// owned sequences (one serial table each, every tenth left behind its rows) on a throwaway
// server with PostgreSQL's default memory and connection settings, then runs `check` against
// each and reports wall time and round trips. Goal: round trips do not grow with the count, and
// 10,000 sequences check in under 2 s.
//
//   node dist/bench/sequences.js [--major 18] [--sizes 100,1000,10000] [--runs 3] [--compare]
//
// --compare also times the alternatives the design was chosen over, at the largest size, on a
// server whose lock table is raised so that they can finish at all: one query_to_xml statement
// over the catalog, and one UNION ALL message without savepoints; and the floor any per-table
// read has, opening and planning a query on each table without reading it.
import pg from 'pg';
import { resolveTargets } from '../src/config/resolve.js';
import { allChecks } from '../src/registry.js';
import { runChecks } from '../src/runner.js';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';

interface Args {
  major: number;
  sizes: number[];
  runs: number;
  compare: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    major: Number(value('major') ?? 18),
    sizes: (value('sizes') ?? '100,1000,10000').split(',').map(Number),
    runs: Number(value('runs') ?? 3),
    compare: argv.includes('--compare'),
  };
}

// PostgreSQL's own defaults, where the throwaway server's differ (it trims them for tests).
const DEFAULT_SETTINGS = { shared_buffers: '128MB', max_connections: 100 };
const TABLES_PER_TRANSACTION = 250;

async function withClient<T>(server: ThrowawayServer, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function build(server: ThrowawayServer, size: number): Promise<string> {
  const db = `seq_${size}`;
  await withClient(server, 'postgres', (c) => c.query(`CREATE DATABASE ${db} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`));
  await withClient(server, db, async (c) => {
    for (let from = 0; from < size; from += TABLES_PER_TRANSACTION) {
      const sql = ['BEGIN'];
      for (let i = from; i < Math.min(size, from + TABLES_PER_TRANSACTION); i++) {
        sql.push(`CREATE TABLE t${i} (id serial PRIMARY KEY, v int)`);
        // Every tenth table got rows with explicit ids: its sequence is behind.
        sql.push(i % 10 === 0 ? `INSERT INTO t${i} (id, v) VALUES (1, 1), (2, 2), (3, 3)` : `INSERT INTO t${i} (v) VALUES (1), (2), (3)`);
      }
      sql.push('COMMIT');
      await c.query(sql.join(';\n'));
    }
    await c.query('VACUUM ANALYZE');
  });
  return db;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(server: ThrowawayServer, db: string, runs: number) {
  const { targets } = resolveTargets({ dsn: `postgresql://postgres@${server.host}:${server.port}/${db}`, env: {} });
  const samples: { wall: number; roundTrips: number; drift: number; behind: unknown; status: string }[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    // Each run opens a fresh connection, as every pg-preflight invocation does.
    const report = await runChecks({ targets, checks: allChecks() });
    const wall = performance.now() - t0;
    const t = report.targets[0]!;
    if (t.error) throw t.error;
    const drift = t.results.find((r) => r.id === 'sequence-drift')!;
    samples.push({ wall, roundTrips: t.roundTrips, drift: drift.durationMs, behind: drift.findings[0]?.details?.behind, status: drift.status });
  }
  return {
    wall: median(samples.map((s) => s.wall)),
    drift: median(samples.map((s) => s.drift)),
    roundTrips: samples[0]!.roundTrips,
    behind: samples[0]!.behind,
    status: samples[0]!.status,
  };
}

/** The two designs the check was chosen over, timed on a fresh connection each. */
async function compare(major: number, size: number): Promise<void> {
  const server = await startThrowawayServer({ major, settings: { ...DEFAULT_SETTINGS, max_locks_per_transaction: 1024 } });
  try {
    const db = await build(server, size);
    const time = async (label: string, sql: string) => {
      await withClient(server, db, async (c) => {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const t0 = performance.now();
        try {
          await c.query(sql);
          console.log(`  ${label.padEnd(64)} ${Math.round(performance.now() - t0)} ms`);
        } catch (err) {
          console.log(`  ${label.padEnd(64)} failed: ${(err as Error).message}`);
        }
        await c.query('ROLLBACK');
      });
    };
    const owned = `FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')`;
    await time(
      'query_to_xml, one statement (maxima only)',
      `SELECT d.objid, (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %s', a.attname, t.oid::regclass), false, true, '')))[1]::text ${owned}`,
    );
    const tables = await withClient(server, db, async (c) => (await c.query<{ t: string; a: string }>(`SELECT t.oid::regclass::text AS t, a.attname AS a ${owned}`)).rows);
    const arms = tables.map((r, i) => `SELECT ${i} AS i, (SELECT max(${r.a}) FROM ${r.t})::text AS m`);
    await time('UNION ALL, one statement (maxima only)', arms.join(' UNION ALL '));
    const statements: string[] = [];
    for (let i = 0; i < arms.length; i += 100) statements.push(arms.slice(i, i + 100).join(' UNION ALL '));
    await time('UNION ALL, statements of 100 arms in one message (maxima only)', statements.join(';\n'));
    // The floor of any per-table read: open and plan a query on each table, read nothing.
    const floor: string[] = [];
    for (let i = 0; i < tables.length; i += 100) floor.push(tables.slice(i, i + 100).map((r) => `SELECT (SELECT 1 FROM ${r.t} WHERE false) AS m`).join(' UNION ALL '));
    await time('floor: open and plan each table, read nothing', floor.join(';\n'));
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const server = await startThrowawayServer({ major: args.major, settings: DEFAULT_SETTINGS });
  try {
    console.log(`PostgreSQL ${server.version}, shared_buffers ${DEFAULT_SETTINGS.shared_buffers}, max_connections ${DEFAULT_SETTINGS.max_connections}, max_locks_per_transaction 64 (defaults); median of ${args.runs} runs`);
    console.log(`${'sequences'.padStart(10)} ${'check wall'.padStart(11)} ${'sequence-drift'.padStart(15)} ${'round trips'.padStart(12)}  result`);
    for (const size of args.sizes) {
      const db = await build(server, size);
      const m = await measure(server, db, args.runs);
      console.log(
        `${String(size).padStart(10)} ${`${Math.round(m.wall)} ms`.padStart(11)} ${`${Math.round(m.drift)} ms`.padStart(15)} ${String(m.roundTrips).padStart(12)}  ${m.status}, ${m.behind} behind`,
      );
      await withClient(server, 'postgres', (c) => c.query(`DROP DATABASE ${db}`));
    }
  } finally {
    await server.stop();
  }
  if (args.compare) {
    const size = Math.max(...args.sizes);
    console.log(`\nAlternatives at ${size} sequences (max_locks_per_transaction raised to 1024 so that they can finish):`);
    await compare(args.major, size);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
