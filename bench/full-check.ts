// Wall time and round trips of a full `check` (every built-in check) against a local
// Synapse-like database, through the library and through the CLI process.
// Run: npm run build && node dist/bench/full-check.js
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startThrowawayServer } from '../src/throwaway/server.js';
import { resolveTargets } from '../src/config/resolve.js';
import { allChecks } from '../src/registry.js';
import { runChecks } from '../src/runner.js';

const RUNS = 20;

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
  await db.query(`CREATE TABLE schema_version (lock char(1) NOT NULL DEFAULT 'X' UNIQUE, version int NOT NULL, upgraded bool NOT NULL);
    INSERT INTO schema_version VALUES ('X', 94, true);
    CREATE TABLE events (stream_ordering bigint PRIMARY KEY, event_id text);
    INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 10000) g;`);
  await db.end();

  const dsn = `postgresql://postgres@${server.host}:${server.port}/synapse`;
  const { targets } = resolveTargets({ dsn, env: {} });
  const checks = allChecks();
  const times: number[] = [];
  let roundTrips = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const report = await runChecks({ targets, checks });
    times.push(performance.now() - t0);
    roundTrips = report.targets[0]!.roundTrips;
  }
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli.js');
  const cliTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [cli, 'check', '--dsn', dsn, '--format', 'json'], { encoding: 'utf8' });
    cliTimes.push(performance.now() - t0);
  }
  console.log(`checks: ${checks.length} (${checks.map((c) => c.id).join(', ')})`);
  console.log(`library runChecks: median ${median(times).toFixed(1)} ms over ${RUNS} runs, ${roundTrips} round trips`);
  console.log(`CLI process (node start + connect + checks + JSON): median ${median(cliTimes).toFixed(0)} ms over ${cliTimes.length} runs`);
} finally {
  await server.stop();
}
