// `npm run bench:sequences` (and part of `npm run bench`): how the sequence checks scale, on the
// embedded PostgreSQL 18 and on the distribution's own server (Debian's, with LLVM JIT on) with
// PostgreSQL's default settings.
// Builds databases of 1,000, 10,000 and 50,000 serial tables where one in seven holds rows with
// explicit ids (its sequence behind) and the rest are empty, then times `pg-preflight check
// --only sequence-drift` as a user runs it (a fresh process, default limits): wall time, round
// trips, peak RSS, how many behind it found against how many are; and, where Debian's
// check-postgres is installed, `check_postgres --action=sequence` on the same database, the
// tool users already run. At 10,000 it also times the full check and names the slowest checks.
//
//   node dist/bench/sequences.js [--servers npm:18,system:15] [--sizes 1000,10000,50000] [--runs 5] [--compare]
//
// --compare also times the alternatives the design was chosen over, at the largest size, on each
// server, with its lock table raised so that they can finish at all: one query_to_xml statement
// over the catalog, one UNION ALL, UNION ALLs of 100 and of 25 arms in one message without
// savepoints, and the shape the check uses (UNION ALLs of 25 through query_to_xml); and the floor
// any per-table read has, opening and planning a query on each table without reading it.
import { buildSerialTables, DEFAULT_SETTINGS, withClient } from './serial-tables.js';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { goal, roundTripsText, type SessionTrips } from './goals.js';
import { benchServers } from './servers.js';
import { savepointMessages } from '../src/sequences/batches.js';

interface Args {
  servers: string[];
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
    servers: value('servers')?.split(',') ?? benchServers(),
    sizes: (value('sizes') ?? '1000,10000,50000').split(',').map(Number),
    runs: Number(value('runs') ?? 5),
    compare: argv.includes('--compare'),
  };
}


function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// The bundled CLI, as the package's bin runs it.
const CLI = join(import.meta.dirname, '..', 'cli.cjs');

interface Result { id: string; status: string; durationMs: number; findings: { status: string; details?: Record<string, unknown> }[] }
interface Run { wall: number; rssMb: number; json: { targets: SessionTrips[]; results: Result[] } }

/** The CLI in a fresh process, as a pre-start hook runs it; peak RSS from GNU time where present. */
function runCli(args: string[]): Run {
  const time = existsSync('/usr/bin/time');
  const argv = time ? ['/usr/bin/time', '-f', 'maxrss %M', process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  const wall = performance.now() - t0;
  const rss = /maxrss (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 && r.status !== 1) throw new Error(`pg-preflight exited ${r.status}: ${r.stderr}`);
  return { wall, rssMb: rss ? Number(rss[1]) / 1024 : NaN, json: JSON.parse(r.stdout) };
}

/** check_postgres's wall time, or why it failed (at 50,000 sequences: out of shared memory). */
function checkPostgres(server: ThrowawayServer, db: string): number | string | undefined {
  if (!existsSync('/usr/bin/check_postgres')) return undefined;
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/check_postgres', ['--action=sequence', `--host=${server.socketDir}`, `--port=${server.port}`, '--dbuser=postgres', `--dbname=${db}`], { encoding: 'utf8' });
  const wall = performance.now() - t0;
  if (/POSTGRES_SEQUENCE (OK|WARNING|CRITICAL)/.test(r.stdout)) return wall;
  return /ERROR:\s*([^\n]+)/.exec(r.stdout + r.stderr)?.[1]?.trim() ?? 'failed';
}

async function measure(server: ThrowawayServer, db: string, runs: number) {
  const dsn = `postgresql://postgres@${server.host}:${server.port}/${db}`;
  const samples: { wall: number; rss: number; roundTrips: string; drift: number; behind: number; status: string; cp?: number | string }[] = [];
  // One pair unmeasured: the database was just built, and its checkpoint and the OS's writeback
  // land on whichever run comes first.
  runCli(['check', '--dsn', dsn, '--only', 'sequence-drift', '--format', 'json']);
  checkPostgres(server, db);
  for (let i = 0; i < runs; i++) {
    // Paired: ours and check_postgres one after the other, on the same warm database.
    const r = runCli(['check', '--dsn', dsn, '--only', 'sequence-drift', '--format', 'json']);
    const t = r.json.targets[0]!;
    const drift = r.json.results.find((x) => x.id === 'sequence-drift')!;
    const behind = drift.findings.filter((f) => f.status === 'error').length;
    samples.push({ wall: r.wall, rss: r.rssMb, roundTrips: roundTripsText(t).short, drift: drift.durationMs, behind, status: drift.status, cp: checkPostgres(server, db) });
  }
  const cps = samples.map((s) => s.cp).filter((x): x is number => typeof x === 'number');
  const cpError = samples.map((s) => s.cp).find((x): x is string => typeof x === 'string');
  return {
    wall: median(samples.map((s) => s.wall)),
    drift: median(samples.map((s) => s.drift)),
    rss: Math.max(...samples.map((s) => s.rss)),
    roundTrips: samples[0]!.roundTrips,
    behind: samples[0]!.behind,
    status: samples[0]!.status,
    checkPostgres: cps.length ? median(cps) : undefined,
    checkPostgresError: cpError,
  };
}

/**
 * The full check, and each check alone: the checks of a run share round trips (their durations
 * overlap), so which ones cost the most is measured one by one.
 */
function slowest(server: ThrowawayServer, db: string): string {
  const dsn = `postgresql://postgres@${server.host}:${server.port}/${db}`;
  const full = runCli(['check', '--dsn', dsn, '--format', 'json']);
  const alone = full.json.results.map((r) => {
    const one = runCli(['check', '--dsn', dsn, '--format', 'json', '--only', r.id]);
    return { id: r.id, ms: one.json.results[0]!.durationMs };
  });
  alone.sort((x, y) => y.ms - x.ms);
  const named = alone.slice(0, 3).map((x) => `${x.id} ${Math.round(x.ms)} ms`).join(', ');
  goal(6, server.name, `full check at 10,000 tables ${Math.round(full.wall)} ms; slowest alone: ${named}`, 'the three slowest named', alone.length >= 3);
  return `full check ${Math.round(full.wall)} ms in ${roundTripsText(full.json.targets[0]!).text} round trips; slowest alone: ${named}`;
}

/** The two designs the check was chosen over, timed on a fresh connection each. */
async function compare(spec: string, size: number): Promise<void> {
  const server = await startThrowawayServer({ server: spec, settings: { ...DEFAULT_SETTINGS, max_locks_per_transaction: 1024 } });
  try {
    const db = await buildSerialTables(server, `seq_${size}`, size, 7, 'empty');
    console.log(`\n${server.name}: the alternatives at ${size} sequences (max_locks_per_transaction raised to 1024 so that they can finish):`);
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
    // A UNION ALL's cost grows faster than its arms: src/sequences/batches.ts runs UNION ALLs of 25
    // through query_to_xml, in statements of hundreds.
    for (const size of [100, 25]) {
      const statements: string[] = [];
      for (let i = 0; i < arms.length; i += size) statements.push(arms.slice(i, i + size).join(' UNION ALL '));
      await time(`UNION ALL, statements of ${size} arms in one message (maxima only)`, statements.join(';\n'));
    }
    const grouped = savepointMessages(arms.map((sql) => ({ sql, weight: 0 })), { lockBudget: Number.MAX_SAFE_INTEGER, major: server.major, oneMessage: true })[0]!;
    await time(`query_to_xml of UNION ALLs of 25, ${grouped.statements} statements (maxima only)`, grouped.sql);
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
  for (const spec of args.servers) {
    const server = await startThrowawayServer({ server: spec, settings: DEFAULT_SETTINGS });
    try {
      const jit = await withClient(server, 'postgres', async (c) => (await c.query("SELECT current_setting('jit', true) AS j")).rows[0].j as string | null);
      console.log(`\n${server.name}: jit ${jit ?? 'absent'}, shared_buffers ${DEFAULT_SETTINGS.shared_buffers}, max_connections ${DEFAULT_SETTINGS.max_connections}, max_locks_per_transaction 64 (defaults); median of ${args.runs} runs`);
      console.log(`${'tables'.padStart(8)} ${'behind'.padStart(7)} ${'found'.padStart(6)} ${'check wall'.padStart(11)} ${'seq-drift'.padStart(10)} ${'round trips'.padStart(14)} ${'peak RSS'.padStart(9)} ${'check_postgres'.padStart(15)} ${'ratio'.padStart(6)}`);
      const walls = new Map<number, number>();
      for (const size of args.sizes) {
        const db = await buildSerialTables(server, `seq_${size}`, size, 7, 'empty');
        const m = await measure(server, db, args.runs);
        walls.set(size, m.wall);
        const expected = Math.ceil(size / 7);
        const ratio = m.checkPostgres ? (m.wall / m.checkPostgres).toFixed(2) : 'n/a';
        console.log(
          `${String(size).padStart(8)} ${String(expected).padStart(7)} ${String(m.behind).padStart(6)} ${`${Math.round(m.wall)} ms`.padStart(11)} ${`${Math.round(m.drift)} ms`.padStart(10)} ${String(m.roundTrips).padStart(14)} ${`${Math.round(m.rss)} MB`.padStart(9)} ${(m.checkPostgres ? `${Math.round(m.checkPostgres)} ms` : m.checkPostgresError ? 'failed' : 'not installed').padStart(15)} ${ratio.padStart(6)}${m.behind === expected ? '' : '  MISSED SOME'}${m.checkPostgresError ? `  (check_postgres: ${m.checkPostgresError})` : ''}`,
        );
        if (size === 10_000) {
          goal(4, server.name, `10,000 tables: ${m.behind} of ${expected} behind found`, 'all', m.behind === expected);
          if (m.checkPostgres) goal(4, server.name, `10,000 tables: ${Math.round(m.wall)} ms = ${ratio}x check_postgres (${Math.round(m.checkPostgres)} ms)`, '<= 1.0x', m.wall <= m.checkPostgres);
          else console.log(`goal 4 | ${server.name} | 10,000 tables: check_postgres ${m.checkPostgresError ? `failed (${m.checkPostgresError})` : 'not installed'}: no ratio | <= 1.0x | skipped`);
          goal(4, server.name, `10,000 tables: peak RSS ${Math.round(m.rss)} MB`, '< 100 MB', m.rss < 100);
          console.log(`         ${slowest(server, db)}`);
        }
        await withClient(server, 'postgres', (c) => c.query(`DROP DATABASE ${db}`));
      }
      const sizes = [...walls.keys()].sort((a, b) => a - b);
      for (let i = 1; i < sizes.length; i++) {
        const [from, to] = [sizes[i - 1]!, sizes[i]!];
        const growth = walls.get(to)! / walls.get(from)!;
        // Linear or better: the time grows at most as the table count does (a process start is in both).
        goal(4, server.name, `${from} to ${to} tables (${to / from}x): ${growth.toFixed(2)}x the time`, `<= ${to / from}x (linear)`, growth <= to / from);
      }
    } finally {
      await server.stop();
    }
  }
  console.log('round trips: one after another (the facts, then the longer of the two sessions\' chains), and each session\'s: the first / the second (the catalog and the reads, in the first one\'s snapshot) / a reader beside the second');
  console.log('\ntargets: every behind sequence found; wall time at most 1.0x check_postgres --action=sequence; peak RSS under 100 MB; linear growth');
  if (args.compare) {
    const size = Math.max(...args.sizes);
    for (const spec of args.servers) await compare(spec, size);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
