// A full `check` (every built-in check) of a Synapse-like database, as a pre-start hook runs it:
// the bundled CLI in a fresh process, paired with `node -e 0` run by run, on the embedded
// PostgreSQL 18 and on the distribution's server. Also the library call alone (no process
// start), and the round trips the check takes. Targets (issue 12): the CLI within 2.0x of
// `node -e 0`, at most 6 round trips.
//
//   npm run bench:check   (node dist/bench/full-check.js [--servers npm:18,system:15] [--runs 21])
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startThrowawayServer } from '../src/throwaway/server.js';
import { createSynapseDatabase } from '../src/throwaway/synapse-database.js';
import { resolveTargets } from '../src/config/resolve.js';
import { allChecks } from '../src/registry.js';
import { runChecks } from '../src/runner.js';
import { fixSequences } from '../src/fix.js';
import { goal, roundTripsText } from './goals.js';
import { benchServers } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name: string) => (argv.indexOf(`--${name}`) >= 0 ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
// 21: on this machine `node -e 0` alone moves by 10-20% from one minute to the next.
const RUNS = Number(arg('runs') ?? 21);
const SERVERS = arg('servers')?.split(',') ?? benchServers();
const CLI = join(here, '..', 'cli.cjs');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed(args: string[]): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { ms: performance.now() - t0, stdout: r.stdout };
}

for (const spec of SERVERS) {
  const server = await startThrowawayServer({ server: spec });
  try {
    // The compact Synapse-like schema the tests use (every table and sequence Synapse checks),
    // with some rows in the largest table.
    const db = await createSynapseDatabase(server);
    await db.query("INSERT INTO events (event_id, room_id, stream_ordering) SELECT '$e' || g, '!r', g FROM generate_series(1, 10000) g");
    await db.query("SELECT setval('events_stream_seq', 10000)");
    await db.end();

    const dsn = `postgresql://postgres@${server.host}:${server.port}/synapse`;
    const { targets } = resolveTargets({ dsn, env: {} });
    await runChecks({ targets, checks: allChecks() }); // warm-up: the first connection pays for catalog caches
    const library: number[] = [];
    let trips = roundTripsText({ roundTrips: 0 });
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const report = await runChecks({ targets, checks: allChecks() });
      library.push(performance.now() - t0);
      trips = roundTripsText(report.targets[0]!);
    }
    const bare: number[] = [];
    const cli: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(timed(['-e', '0']).ms);
      cli.push(timed([CLI, 'check', '--dsn', dsn, '--format', 'json']).ms);
    }
    const ratio = median(cli) / median(bare);
    console.log(`${server.name}, ${allChecks().length} checks, median of ${RUNS} paired runs:`);
    console.log(`  node -e 0                      ${median(bare).toFixed(0).padStart(5)} ms`);
    console.log(`  pg-preflight check (CLI)       ${median(cli).toFixed(0).padStart(5)} ms   ${ratio.toFixed(2)}x node -e 0 (target <= 2.0x)`);
    console.log(`  runChecks() in this process    ${median(library).toFixed(0).padStart(5)} ms   ${trips.text} round trips (target <= 6)`);
    goal(2, server.name, `full check: ${trips.text} round trips for ${allChecks().length} checks`, '<= 6', trips.path <= 6);
    // fix on the same database with one sequence put behind its rows: round trips before it writes.
    const setback = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'synapse' });
    await setback.connect();
    await setback.query("SELECT setval('events_stream_seq', 1)");
    await setback.end();
    const fixed = (await fixSequences({ dsn, env: {}, apply: true })).targets[0]!;
    const beforeWrite = (fixed.checkRoundTrips ?? 0) + (fixed.roundTripsBeforeWrite ?? 0);
    console.log(`  fix --apply of ${fixed.applied?.filter((a) => a.changed).length ?? 0} sequence: ${beforeWrite} round trips before its first write (target <= 4)`);
    goal(2, server.name, `fix: ${beforeWrite} round trips before it writes (${fixed.checkRoundTrips} of its checks, ${fixed.roundTripsBeforeWrite} of the apply)`, '<= 4', beforeWrite <= 4);
    goal(3, server.name, `whole run ${median(cli).toFixed(0)} ms = ${ratio.toFixed(2)}x node -e 0 (${median(bare).toFixed(0)} ms)`, '<= 2.0x', ratio <= 2.0);
  } finally {
    await server.stop();
  }
}
