// The single executable (npm run build:exe) run with no Node.js anywhere on PATH and HOME empty,
// against the throwaway servers: the commands and the parts that need files a bundle cannot hold
// (sql.js's WebAssembly, which comes from the executable's asset).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/built-cli.js';
import { runCli } from './helpers/cli.js';
import { builtExe, EXE_SUPPORTED } from './helpers/built-exe.js';
import { fixtureSql, synapseSchemaSql } from './helpers/fixtures.js';
import { readmeShellBlocks } from './helpers/readme.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
// No directory on this PATH exists, so there is no node (nor anything else) to find.
const ENV = { PATH: '/nonexistent/bin', HOME: '' };

let exe: string;
const run = (args: string[], cwd = tmpdir()) => spawnSync(exe, args, { encoding: 'utf8', env: ENV, cwd, timeout: 60_000 });

describe.skipIf(!EXE_SUPPORTED)(`the single executable (skipped: it is built for linux-x64, this is ${process.platform}-${process.arch})`, () => {
  beforeAll(() => {
    exe = builtExe();
  }, 180_000);

  it('the environment it runs in has no node', () => {
    expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env: ENV }).status).not.toBe(0);
  });

  it('--version and --help', () => {
    const v = run(['--version']);
    expect(v.stdout).toBe(`${VERSION}\n`);
    expect(v.status).toBe(0);
    const help = run(['--help']);
    expect(help.stdout).toMatch(/^pg-preflight \[command\] \[options\]/);
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
  });

  it('explain prints a check\'s documentation', () => {
    const r = run(['explain', 'sqlite-port']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^sqlite-port: /);
  });

  it('the README\'s commands: npm run build:exe makes it, install puts it on PATH, and it checks a homeserver.yaml', async () => {
    const [lines] = readmeShellBlocks('Single executable (linux-x64, no Node.js needed)');
    expect(lines![0]).toBe('npm ci && npm run build:exe');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['build:exe']).toMatch(/&& node scripts\/build-exe\.mjs$/);
    const bin = mkdtempSync(join(tmpdir(), 'pgpf-exe-bin-'));
    const install = lines![1]!.replace('/usr/local/bin/', `${bin}/`).split(' ');
    expect(install).toEqual(['install', '-m', '0755', 'dist/exe/pg-preflight-linux-x64', `${bin}/pg-preflight`]);
    expect(spawnSync(install[0]!, install.slice(1), { cwd: ROOT }).status).toBe(0);
    const server = sharedServers().find((s) => s.major === 18)!;
    const db = await createDatabase(server, 'exe_readme', { setup: synapseSchemaSql(94) });
    const config = join(bin, 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
    const [command, ...args] = lines![2]!.replace('/etc/matrix-synapse/homeserver.yaml', config).split(' ');
    expect(command).toBe('pg-preflight');
    const r = spawnSync(command!, args, { encoding: 'utf8', env: { ...ENV, PATH: bin }, cwd: tmpdir() });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
    expect(r.status).toBe(0);
  });

  describe.each(sharedServers())('on PostgreSQL $major', (server) => {
    it('check: the same results and exit code as the CLI run from the sources; the finding on a broken database', async () => {
      const ok = await createDatabase(server, 'exe_ok', { setup: synapseSchemaSql(94) });
      const bad = await createDatabase(server, 'exe_bad', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
      const statuses = (json: string) => (JSON.parse(json).results as { id: string; status: string }[]).map((r) => `${r.id}: ${r.status}`);
      for (const db of [ok, bad]) {
        const args = ['check', '--dsn', dsnFor(server, db), '--format', 'json'];
        const mine = run(args);
        const reference = await runCli(args);
        expect(mine.stderr).toBe('');
        expect(statuses(mine.stdout)).toEqual(statuses(reference.stdout));
        expect(mine.status).toBe(reference.code);
      }
      const text = run(['check', '--dsn', dsnFor(server, bad)]);
      expect(text.stdout).toMatch(/✖ error\s+database-encoding/);
      expect(text.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
      expect(text.status).toBe(1);
    });

    it('--format sarif: a SARIF 2.1.0 log whose rules link to the repository', async () => {
      const db = await createDatabase(server, 'exe_sarif', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
      const r = run(['check', '--dsn', dsnFor(server, db), '--format', 'sarif']);
      expect(r.status).toBe(1);
      const log = JSON.parse(r.stdout);
      expect(log.version).toBe('2.1.0');
      expect(log.runs[0].tool.driver.version).toBe(VERSION);
      expect(log.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toContain('database-encoding');
      expect(log.runs[0].tool.driver.rules[0].helpUri).toMatch(/^https:\/\/github\.com\/.*\/docs\/checks\/[\w-]+\.md$/);
    });

    it('fix: shows the plan, --apply moves the sequences, and the check then passes', async () => {
      const db = await createDatabase(server, 'exe_fix', { setup: [fixtureSql('synapse/schema.sql'), fixtureSql('sequence-drift/fresh-install.sql'), fixtureSql('sequence-drift/downgrade.sql')].join('\n') });
      const plan = run(['fix', '--dsn', dsnFor(server, db)]);
      expect(plan.stdout).toContain('SELECT setval(');
      expect(plan.status).toBe(1);
      const applied = run(['fix', '--dsn', dsnFor(server, db), '--apply']);
      expect(applied.stderr).toBe('');
      expect(applied.status).toBe(0);
      const after = run(['check', '--dsn', dsnFor(server, db), '--only', 'sequence-drift', '--format', 'json']);
      expect(JSON.parse(after.stdout).results[0]).toMatchObject({ id: 'sequence-drift', status: 'ok' });
    });

    it('--sqlite-database: reads the SQLite file with the WebAssembly from the executable', async () => {
      const db = await createDatabase(server, 'exe_port', { setup: [synapseSchemaSql(94), fixtureSql('sqlite-port/postgres.sql')].join('\n') });
      const dir = mkdtempSync(join(tmpdir(), 'pgpf-exe-port-'));
      const SQL = await initSqlJs();
      const lite = new SQL.Database();
      lite.exec(fixtureSql('sqlite-port/sqlite.sql'));
      const file = join(dir, 'homeserver.db');
      writeFileSync(file, lite.export());
      lite.close();
      const r = run(['check', '--dsn', dsnFor(server, db), '--only', 'sqlite-port', '--sqlite-database', file, '--format', 'json']);
      expect(r.stderr).toBe('');
      const result = JSON.parse(r.stdout).results[0];
      // The fixture's PostgreSQL side lacks rows its SQLite side has: a warning, found by counting both.
      expect(result).toMatchObject({ id: 'sqlite-port', status: 'warning' });
      expect(JSON.stringify(result)).toContain('events (SQLite 5, PostgreSQL 3)');
    });
  });
});
