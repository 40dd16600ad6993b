// `npm run bench:fleet`: many databases on one server, --jobs 1 against --jobs 4 (and more). A
// throwaway server gets 100 databases, each a copy of one small Synapse-like database (a few
// tables with serial ids, rows in one); then `pg-preflight check --all-databases` runs as an
// operator runs it, a fresh CLI process with the default checks: wall time, and peak RSS of that
// process from GNU time (/usr/bin/time -f %M).
//
//   node dist/bench/fleet.js [--server npm:18] [--databases 100] [--jobs 1,4] [--runs 3]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startThrowawayServer } from '../src/throwaway/server.js';

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

const argv = process.argv.slice(2);
const spec = option(argv, 'server') ?? 'npm:18';
const databases = Number(option(argv, 'databases') ?? 100);
const jobsList = (option(argv, 'jobs') ?? '1,4').split(',').map(Number);
const runs = Number(option(argv, 'runs') ?? 3);
const CLI = join(import.meta.dirname, '..', 'src', 'cli.js');

const TEMPLATE_SQL = `
CREATE TABLE events (stream_ordering bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, room_id text NOT NULL);
CREATE TABLE rooms (room_id text PRIMARY KEY, creator text);
CREATE TABLE users (name text PRIMARY KEY, id serial);
CREATE TABLE schema_version (lock char(1) NOT NULL DEFAULT 'X' UNIQUE, version int NOT NULL, upgraded boolean NOT NULL);
INSERT INTO schema_version VALUES ('X', 94, true);
INSERT INTO events (event_id, room_id) SELECT '$' || i, '!r' || (i % 10) FROM generate_series(1, 1000) i;
`;

interface Sample { wall: number; rssKb: number; targets: number; code: number }

function runCheck(dsn: string, jobs: number): Sample {
  const time = existsSync('/usr/bin/time');
  const args = [CLI, 'check', '--dsn', dsn, '--all-databases', '--jobs', String(jobs), '--format', 'json'];
  const cmd = time ? ['/usr/bin/time', '-f', 'maxrss %M', process.execPath, ...args] : [process.execPath, ...args];
  const t0 = performance.now();
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  const wall = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`pg-preflight exited ${r.status}: ${r.stderr}`);
  const rss = /maxrss (\d+)/.exec(r.stderr ?? '');
  return { wall, rssKb: rss ? Number(rss[1]) : NaN, targets: JSON.parse(r.stdout).targets.length, code: r.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = await startThrowawayServer({ server: spec, settings: { max_connections: 100 } });
try {
  const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`CREATE DATABASE fleet_template TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const t = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: 'fleet_template' });
  await t.connect();
  await t.query(TEMPLATE_SQL);
  await t.end();
  // A template is left out of --all-databases, as template0 and template1 are.
  await c.query('ALTER DATABASE fleet_template IS_TEMPLATE true');
  for (let i = 1; i <= databases; i++) await c.query(`CREATE DATABASE fleet_${String(i).padStart(3, '0')} TEMPLATE fleet_template`);
  await c.end();

  const dsn = `postgresql://postgres@127.0.0.1:${server.port}/postgres`;
  console.log(`${server.name}: ${databases} databases + postgres, ${runs} runs each, median (a warm-up run first)`);
  runCheck(dsn, 1);
  console.log('| --jobs | targets | wall time | per database | peak RSS |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const jobs of jobsList) {
    const samples = Array.from({ length: runs }, () => runCheck(dsn, jobs));
    const wall = median(samples.map((s) => s.wall));
    const rss = median(samples.map((s) => s.rssKb));
    const n = samples[0]!.targets;
    console.log(`| ${jobs} | ${n} | ${(wall / 1000).toFixed(2)} s | ${(wall / n).toFixed(0)} ms | ${(rss / 1024).toFixed(0)} MiB |`);
  }
} finally {
  await server.stop();
}
