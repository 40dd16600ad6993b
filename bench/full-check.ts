// Wall time and round trips of a full `check` (every built-in check) against a local
// Synapse-like database, through the library and through the CLI process.
// Run: npm run build && node dist/bench/full-check.js
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startThrowawayServer } from '../src/throwaway/server.js';
import { resolveTargets } from '../src/config/resolve.js';
import { allChecks } from '../src/registry.js';
import { runChecks } from '../src/runner.js';

const RUNS = 20;
const here = dirname(fileURLToPath(import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const server = await startThrowawayServer({ major: 18 });
try {
  const admin = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query("CREATE DATABASE synapse TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
  await admin.end();
  const db = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'synapse' });
  await db.connect();
  // The compact Synapse-like schema the tests use (every table and sequence Synapse checks),
  // with some rows in the largest table.
  await db.query(readFileSync(join(here, '..', '..', 'fixtures', 'synapse', 'schema.sql'), 'utf8'));
  await db.query("INSERT INTO events (event_id, room_id, stream_ordering) SELECT '$e' || g, '!r', g FROM generate_series(1, 10000) g");
  await db.query("SELECT setval('events_stream_seq', 10000)");
  await db.end();

  const dsn = `postgresql://postgres@${server.host}:${server.port}/synapse`;
  const { targets } = resolveTargets({ dsn, env: {} });
  const all = allChecks();
  const foundation = all.filter((c) => ['server-version', 'database-encoding', 'database-locale'].includes(c.id));
  const measure = async (checks: typeof all) => {
    const times: number[] = [];
    let roundTrips = 0;
    await runChecks({ targets, checks }); // warm-up: the first connection pays for catalog caches
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const report = await runChecks({ targets, checks });
      times.push(performance.now() - t0);
      roundTrips = report.targets[0]!.roundTrips;
    }
    return { median: median(times), roundTrips };
  };
  const base = await measure(foundation);
  const full = await measure(all);
  const cli = join(here, '..', 'src', 'cli.js');
  const cliTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [cli, 'check', '--dsn', dsn, '--format', 'json'], { encoding: 'utf8' });
    cliTimes.push(performance.now() - t0);
  }
  console.log(`foundation checks (${foundation.length}): median ${base.median.toFixed(1)} ms over ${RUNS} runs, ${base.roundTrips} round trips`);
  console.log(`all built-in checks (${all.length}): median ${full.median.toFixed(1)} ms over ${RUNS} runs, ${full.roundTrips} round trips (+${(full.median - base.median).toFixed(1)} ms)`);
  console.log(`CLI process, all checks (node start + connect + checks + JSON): median ${median(cliTimes).toFixed(0)} ms over ${cliTimes.length} runs`);
} finally {
  await server.stop();
}
