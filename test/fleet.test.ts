// Many databases in one run: several homeservers on different servers (one of them down),
// --jobs, --all-databases, and the name of each target in every format.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listConnectableDatabases } from '../src/all-databases.js';
import { resolveTargets } from '../src/config/resolve.js';
import { targetName } from '../src/config/target.js';
import { exitCodeFor, preflight } from '../src/preflight.js';
import { escapeProperty } from '../src/reporters/github.js';
import { freePort, startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { runCli } from './helpers/cli.js';
import { matrixMajors, specFor } from './helpers/matrix.js';
import { createDatabase, dsnFor, sharedServers, sql, uniqueName, type SharedServer } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'pgpf-fleet-'));
// Checks whose results do not depend on what else runs on the shared servers at the time.
const STEADY = ['--only', 'database-encoding,database-locale,server-version'];

/** A homeserver's own directory with a homeserver.yaml; returns the file's path. */
function homeserver(name: string, database: string, server: Pick<SharedServer, 'port'>, extra = ''): string {
  const hsDir = join(dir, name);
  mkdirSync(hsDir, { recursive: true });
  const path = join(hsDir, 'homeserver.yaml');
  writeFileSync(path, `server_name: ${name}.example\ndatabase:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${database}\n    host: 127.0.0.1\n    port: ${server.port}\n${extra}`);
  return path;
}

/** The JSON report with everything that measures time taken out. */
function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'durationMs').map(([k, v]) => [k, withoutTimings(v)]));
  }
  return value;
}

const servers = () => sharedServers();
const last = () => servers()[servers().length - 1]!;

describe('several homeservers, one of them unreachable', () => {
  let files: string[];
  let names: string[];
  beforeAll(async () => {
    const first = servers()[0]!;
    const broken = await createDatabase(first, 'fleet_bad', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
    const healthy = await createDatabase(last(), 'fleet_ok', { setup: synapseSchemaSql(94) });
    const middle = servers()[1] ?? first;
    const other = await createDatabase(middle, 'fleet_ok', { setup: synapseSchemaSql(94) });
    const down = { port: await freePort() };
    files = [homeserver('alpha', broken, first), homeserver('beta', healthy, last()), homeserver('gone', 'synapse', down), homeserver('delta', other, middle)];
    names = files.map((f) => `${f}:master`);
  });

  it('checks every other target, names each, and exits 3 (over the findings\' 1)', async () => {
    const r = await runCli(['check', ...files.flatMap((f) => ['--homeserver', f]), ...STEADY, '--format', 'json', '--jobs', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual(names);
    expect(report.targets.map((t: { label: string }) => t.label)).toEqual(['master', 'master', 'master', 'master']);
    expect(report.targets[2].error.code).toBe('connect-refused');
    for (const i of [0, 1, 3]) {
      expect(report.targets[i].serverVersion).not.toBeNull();
      expect(report.results.filter((x: { database: string }) => x.database === names[i]).map((x: { id: string }) => x.id).sort()).toEqual(['database-encoding', 'database-locale', 'server-version']);
    }
    expect(report.results.find((x: { id: string; database: string }) => x.id === 'database-encoding' && x.database === names[0]).status).toBe('error');
    // Without the unreachable one, the findings decide: 1.
    const reachable = await runCli(['check', ...[files[0]!, files[1]!].flatMap((f) => ['--homeserver', f]), ...STEADY, '--format', 'json']);
    expect(reachable.code).toBe(1);
  });

  it('gives the same report, in the same order, with --jobs 1 and --jobs 4', async () => {
    const run = async (jobs: string) => {
      const r = await runCli(['check', ...files.flatMap((f) => ['--homeserver', f]), ...STEADY, '--format', 'json', '--jobs', jobs]);
      expect(r.code).toBe(3);
      return withoutTimings(JSON.parse(r.stdout));
    };
    const one = await run('1');
    const four = await run('4');
    expect(four).toEqual(one);
    expect((one as { targets: { name: string }[] }).targets.map((t) => t.name)).toEqual(names);
  });

  it('the library API takes the same: homeservers and jobs, the results in the order given', async () => {
    const report = await preflight({ homeservers: files, only: ['database-encoding'], jobs: 3, env: { HOME: '/nonexistent' } });
    expect(report.targets.map((t) => targetName(t.target))).toEqual(names);
    expect(report.targets.map((t) => Boolean(t.error))).toEqual([false, false, true, false]);
    expect(report.targets.map((t) => t.results.map((r) => `${r.database} ${r.id} ${r.status}`))).toEqual([
      [`${names[0]} database-encoding error`],
      [`${names[1]} database-encoding ok`],
      [],
      [`${names[3]} database-encoding ok`],
    ]);
    expect(exitCodeFor(report, 'error')).toBe(3);
  });

  it('refuses a --jobs that is not a positive whole number, and the same homeserver twice (exit 2)', async () => {
    for (const bad of ['0', '-1', '1.5', 'many']) {
      const r = await runCli(['check', '--homeserver', files[0]!, '--jobs', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/^pg-preflight: --jobs must be a whole number/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const twice = await runCli(['check', '--homeserver', files[0]!, '--homeserver', files[0]!]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/two targets are both named/);
  });

  it('keeps --config as one homeserver whose files merge, beside --homeserver targets', async () => {
    const r = await runCli(['check', '--config', files[1]!, '--homeserver', files[0]!, ...STEADY, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).targets.map((t: { name: string }) => t.name)).toEqual(['master', names[0]]);
  });
});

describe('every format names the target of each finding', () => {
  let a: string;
  let b: string;
  let args: string[];
  beforeAll(async () => {
    // Two homeservers, both with a `master` database, on different servers, both broken.
    const dbA = await createDatabase(servers()[0]!, 'fleet_fa', { encoding: 'SQL_ASCII' });
    const dbB = await createDatabase(last(), 'fleet_fb', { encoding: 'SQL_ASCII' });
    a = homeserver('fmt-a', dbA, servers()[0]!);
    b = homeserver('fmt-b', dbB, last());
    args = ['check', '--homeserver', a, '--homeserver', b, '--only', 'database-encoding'];
  });
  const names = () => [`${a}:master`, `${b}:master`];
  const run = async (format: string) => {
    const r = await runCli([...args, '--format', format]);
    expect(r.code).toBe(1);
    return r.stdout;
  };

  it('json: targets[].name and results[].database', async () => {
    const report = JSON.parse(await run('json'));
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual(names());
    expect(report.results.map((r: { database: string; status: string }) => [r.database, r.status])).toEqual(names().map((n) => [n, 'error']));
  });

  it('sarif: each result\'s properties.database, and a logical location under that name', async () => {
    const results = JSON.parse(await run('sarif')).runs[0].results as { properties: { database: string }; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[];
    expect(results.map((r) => r.properties.database)).toEqual(names());
    // database-encoding points at the homeserver.yaml of the target: two different files.
    expect(new Set(results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri)).size).toBe(2);
  });

  it('junit: one test suite per target, named for it, and the classname of each case', async () => {
    const xml = await run('junit');
    for (const n of names()) {
      expect(xml).toContain(`<testsuite name="${n} (`);
      expect(xml).toMatch(new RegExp(`<testcase name="database-encoding" classname="pg-preflight\\.${n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"[^>]*>\\s*<failure `));
    }
  });

  it('github: the annotation title says which target', async () => {
    const out = await run('github');
    for (const n of names()) expect(out).toContain(`title=${escapeProperty(`database-encoding [${n}]`)}`);
  });

  it('prometheus: the database label of every series is the name', async () => {
    const out = await run('prometheus');
    for (const n of names()) {
      expect(out).toContain(`pg_preflight_check_status{database="${n}",check="database-encoding",status="error",waived="false"} 1`);
      expect(out).toMatch(new RegExp(`^pg_preflight_database_up\\{database="${n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}",datname="fleet_f[ab]_[^"]+"\\} 1$`, 'm'));
    }
  });

  it('text and html: a header per target with its name', async () => {
    const text = await run('text');
    const html = await run('html');
    for (const n of names()) {
      expect(text).toMatch(new RegExp(`^Database ${n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: "fleet_f`, 'm'));
      expect(text).toContain(`database-encoding [${n}]`);
      expect(html).toContain(`Database ${n}</h2>`);
    }
  });

  it('rules: a waiver for `master` covers both homeservers, one for a name covers that one', async () => {
    const rules = (database: string) => {
      const path = join(dir, `rules-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(path, `waivers:\n  - check: database-encoding\n    database: ${JSON.stringify(database)}\n    reason: moving in Q3\n    expires: 2999-12-31\n`);
      return path;
    };
    const all = await runCli([...args, '--rules', rules('master'), '--format', 'json']);
    expect(all.code).toBe(0);
    const one = await runCli([...args, '--rules', rules(names()[0]!), '--format', 'json']);
    expect(one.code).toBe(1);
    const counted = JSON.parse(one.stdout).results.map((r: { database: string; countedStatus: string }) => [r.database, r.countedStatus]);
    expect(counted).toEqual([[names()[0], 'ok'], [names()[1], 'error']]);
  });
});

describe('--all-databases', () => {
  // Exactly which databases: on a server of its own, where no other test file creates any.
  let server: ThrowawayServer;
  const role = 'fleet_app';
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(matrixMajors()[0]!) });
    const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      await c.query(`CREATE ROLE ${role} LOGIN`);
      for (const db of ['app_one', 'app_two', 'fenced', 'closed']) await c.query(`CREATE DATABASE ${db} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
      await c.query('REVOKE CONNECT ON DATABASE fenced FROM PUBLIC');
      await c.query('ALTER DATABASE closed ALLOW_CONNECTIONS false');
    } finally {
      await c.end();
    }
  });
  afterAll(async () => server?.stop());

  it('checks each database the role may connect to, templates, fenced and closed ones left out', async () => {
    const dsn = `postgresql://${role}@127.0.0.1:${server.port}/postgres`;
    const r = await runCli(['check', '--dsn', dsn, '--all-databases', '--only', 'database-encoding', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const where = `127.0.0.1:${server.port}`;
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual([`${where}/app_one`, `${where}/app_two`, `${where}/postgres`]);
    expect(report.targets.map((t: { database: string; user: string }) => [t.database, t.user])).toEqual([['app_one', role], ['app_two', role], ['postgres', role]]);
    // As the superuser, the fenced database is connectable too.
    const su = await runCli(['check', '--dsn', `postgresql://postgres@127.0.0.1:${server.port}/postgres`, '--all-databases', '--only', 'database-encoding', '--format', 'json']);
    expect(JSON.parse(su.stdout).targets.map((t: { database: string }) => t.database)).toEqual(['app_one', 'app_two', 'fenced', 'postgres']);
  });

  it('an unreachable server is one target that could not be checked: exit 3, the other servers checked', async () => {
    const down = `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`;
    const r = await runCli(['check', '--dsn', down, '--dsn', `postgresql://${role}@127.0.0.1:${server.port}/postgres`, '--all-databases', '--only', 'database-encoding', '--format', 'json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.targets).toHaveLength(4);
    expect(report.targets[0].error.code).toBe('connect-refused');
    expect(report.targets.slice(1).every((t: { error?: unknown }) => !t.error)).toBe(true);
  });

  it('refuses --config or --homeserver beside it (exit 2)', async () => {
    const r = await runCli(['check', '--all-databases', '--homeserver', join(dir, 'none.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--all-databases lists the databases of the servers/);
  });

  it.each(sharedServers())('on the shared $name: lists created databases, not a fenced one or the templates', async (s) => {
    const user = uniqueName('fleet_role');
    const open = await createDatabase(s, 'fleet_open');
    const fenced = await createDatabase(s, 'fleet_fenced');
    await sql(s, 'postgres', `CREATE ROLE ${user} LOGIN; REVOKE CONNECT ON DATABASE ${fenced} FROM PUBLIC`);
    try {
      const [target] = resolveTargets({ dsn: dsnFor(s, 'postgres', user), env: {} }).targets;
      const listed = await listConnectableDatabases(target!, { connectTimeoutMs: 10_000, statementTimeoutMs: 5_000, lockTimeoutMs: 2_000 });
      expect(listed).toContain(open);
      expect(listed).toContain('postgres');
      expect(listed).not.toContain(fenced);
      expect(listed.filter((d) => d.startsWith('template'))).toEqual([]);
    } finally {
      // One statement each: DROP DATABASE refuses the implicit transaction of a multi-statement query.
      for (const stmt of [`DROP DATABASE ${fenced}`, `DROP DATABASE ${open}`, `DROP ROLE ${user}`]) await sql(s, 'postgres', stmt);
    }
  });
});
