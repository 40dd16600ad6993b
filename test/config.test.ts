import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../src/config/resolve.js';
import { lookupPgpass, parseConnectionString } from '../src/config/libpq.js';
import { PreflightError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { runPasted } from './helpers/shell.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'config', name);
const noEnv = { HOME: '/nonexistent' };

function expectUsageError(fn: () => unknown, code: string, text: RegExp): PreflightError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PreflightError);
    const err = e as PreflightError;
    expect(err.exitCode).toBe(2);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(text);
    return err;
  }
  throw new Error('expected a usage error');
}

describe('homeserver.yaml database section', () => {
  it('reads args as libpq keywords, keeps cp_* for the pool and accepts psycopg2\'s "database" alias', () => {
    const { targets } = resolveTargets({ configPaths: [fixture('homeserver.yaml')], env: noEnv });
    expect(targets).toHaveLength(1);
    const t = targets[0]!;
    expect(t.label).toBe('master');
    expect(t.connection).toMatchObject({ host: 'db.internal', port: 5433, user: 'synapse_user', database: 'synapse', sslmode: 'require', passwordSource: 'config' });
    expect(t.connection.password).toBe('s3cret-p@ss:word');
    expect(t.connection.keywords).not.toHaveProperty('password');
    expect(t.connection.keywords).not.toHaveProperty('cp_min');
    expect(t.synapse).toMatchObject({ cpMin: 5, cpMax: 10, allowUnsafeLocale: false, dataStores: ['main', 'state'] });
  });

  it('treats a host that is a path as the Unix-socket directory and reads allow_unsafe_locale', () => {
    const { targets } = resolveTargets({ configPaths: [fixture('homeserver-socket.yaml')], env: noEnv });
    expect(targets[0]!.connection).toMatchObject({ host: '/var/run/postgresql', port: 5432, database: 'matrix', user: 'synapse' });
    expect(targets[0]!.synapse).toMatchObject({ allowUnsafeLocale: true, cpReconnect: false });
  });

  it('checks every database of the "databases:" form with its data stores', () => {
    const { targets } = resolveTargets({ configPaths: [fixture('databases.yaml')], env: noEnv });
    expect(targets.map((t) => [t.label, t.connection.database, t.connection.host, t.synapse?.dataStores])).toEqual([
      ['basement', 'synapse_main', '10.0.0.5', ['main']],
      ['state_db', 'synapse_state', '10.0.0.6', ['state']],
    ]);
  });

  it('merges config files like Synapse: a worker file keeps the shared database, unless it replaces the section', () => {
    const shared = resolveTargets({ configPaths: [fixture('homeserver.yaml'), fixture('worker.yaml')], env: noEnv });
    expect(shared.targets[0]!.connection.host).toBe('db.internal');
    const replaced = resolveTargets({ configPaths: [fixture('homeserver.yaml'), fixture('worker-own-database.yaml')], env: noEnv });
    expect(replaced.targets[0]!.connection).toMatchObject({ host: 'other.internal', database: 'other' });
    // The whole section is replaced: nothing of the first file's args survives.
    expect(replaced.targets[0]!.connection.password).toBeUndefined();
    expect(replaced.targets[0]!.synapse?.cpMax).toBeUndefined();
  });

  it('reads a directory of *.yaml files in sorted order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-confdir-'));
    writeFileSync(join(dir, '10-base.yaml'), 'database:\n  name: psycopg2\n  args: { dbname: first }\n');
    writeFileSync(join(dir, '20-override.yaml'), 'database:\n  name: psycopg2\n  args: { dbname: second }\n');
    writeFileSync(join(dir, 'notes.txt'), 'database: ignored');
    const { targets } = resolveTargets({ configPaths: [dir], env: noEnv });
    expect(targets[0]!.connection.database).toBe('second');
  });

  it('refuses SQLite configs with the porting steps, exit 2', () => {
    for (const name of ['sqlite.yaml', 'no-name.yaml']) {
      const err = expectUsageError(() => resolveTargets({ configPaths: [fixture(name)], env: noEnv }), 'config-sqlite', /SQLite/);
      const shell = err.remediation.filter((r) => r.kind === 'shell').map((r) => r.text).join('\n');
      expect(shell).toContain('synapse_port_db --sqlite-database');
      expect(shell).toContain('createdb --encoding=UTF8 --locale=C --template=template0');
    }
    const err = expectUsageError(() => resolveTargets({ configPaths: [fixture('sqlite.yaml')], env: noEnv }), 'config-sqlite', /sqlite3/);
    expect(err.remediation.map((r) => r.text).join('\n')).toContain('cp /data/homeserver.db /data/homeserver.db.snapshot');
  });

  it('the porting steps run as pasted, with paths that hold spaces and quotes', () => {
    const dir = mkdtempSync(join(tmpdir(), "pgpf-port it's-"));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // synapse_port_db and synctl are Synapse's; stand-ins record what they were given.
    for (const tool of ['synctl', 'synapse_port_db']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\nprintf '%s|' ${tool} "$@" >> "${join(dir, 'calls.log')}"\necho >> "${join(dir, 'calls.log')}"\n`, { mode: 0o755 });
    }
    const dbPath = join(dir, 'synapse data', 'home server.db');
    mkdirSync(join(dir, 'synapse data'));
    writeFileSync(dbPath, 'sqlite');
    const config = join(dir, 'my homeserver.yaml');
    writeFileSync(config, `database:\n  name: sqlite3\n  args:\n    database: "${dbPath}"\n`);
    const err = expectUsageError(() => resolveTargets({ configPaths: [config], env: noEnv }), 'config-sqlite', /SQLite/);
    const [, phase1, phase2] = err.remediation.filter((r) => r.kind === 'shell').map((r) => r.text);
    const run = runPasted(`${phase1}\n${phase2}`, { PATH: `${bin}:${process.env.PATH}` });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(`${dbPath}.snapshot`, 'utf8')).toBe('sqlite');
    // The configs were swapped: the PostgreSQL copy is now the config, the old one kept aside.
    expect(existsSync(join(dir, 'my homeserver-old-sqlite.yaml'))).toBe(true);
    expect(existsSync(join(dir, 'my homeserver-postgres.yaml'))).toBe(false);
    expect(readFileSync(join(dir, 'calls.log'), 'utf8').split('\n').filter(Boolean)).toEqual([
      'synctl|stop|',
      'synctl|start|',
      `synapse_port_db|--sqlite-database|${dbPath}.snapshot|--postgres-config|${join(dir, 'my homeserver-postgres.yaml')}|`,
      'synctl|stop|',
      `synapse_port_db|--sqlite-database|${dbPath}|--postgres-config|${join(dir, 'my homeserver-postgres.yaml')}|`,
      'synctl|start|',
    ]);
  });

  it('refuses a config without a database section (Synapse would use SQLite)', () => {
    expectUsageError(() => resolveTargets({ configPaths: [fixture('no-database.yaml')], env: noEnv }), 'config-sqlite', /no database: section/);
  });

  it.each([
    ['both.yaml', 'config-database', /both "database" and "databases"/],
    ['databases-duplicate-store.yaml', 'config-database', /data store "state"/],
    ['unsupported-name.yaml', 'config-database', /"mysql"/],
    ['bad-args.yaml', 'config-database', /args must be a mapping/],
    ['not-mapping.yaml', 'config-yaml', /YAML mapping/],
    ['malformed.yaml', 'config-yaml', /not valid YAML at line \d+, column \d+/],
    ['missing.yaml', 'config-not-found', /does not exist/],
  ])('%s is a clear usage error', (name, code, text) => {
    const err = expectUsageError(() => resolveTargets({ configPaths: [fixture(name)], env: noEnv }), code, text);
    expect(err.message).not.toContain('hunter2');
  });
});

describe('connection strings and the libpq environment', () => {
  it('parses URIs: percent-encoding, IPv6, socket host in the query, several hosts', () => {
    expect(parseConnectionString('postgresql://us%40er:p%3Ass@[::1]:6543/my%20db?sslmode=disable&application_name=x')).toEqual({
      user: 'us@er', password: 'p:ss', host: '::1', port: '6543', dbname: 'my db', sslmode: 'disable', application_name: 'x',
    });
    expect(parseConnectionString('postgres:///synapse?host=/var/run/postgresql')).toEqual({ dbname: 'synapse', host: '/var/run/postgresql' });
    expect(parseConnectionString('postgresql://%2Ftmp:5433/db')).toMatchObject({ host: '/tmp', port: '5433' });
    // A host list stays a list, as libpq keeps it: hosts and ports side by side.
    expect(parseConnectionString('postgresql://a:1,b:2/db')).toMatchObject({ host: 'a,b', port: '1,2' });
    expect(parseConnectionString('postgresql://a:1,[::1],b/db')).toMatchObject({ host: 'a,::1,b', port: '1,,' });
    expect(parseConnectionString('postgresql://a,b/db')).toMatchObject({ host: 'a,b', port: ',' });
  });

  it("parses libpq key=value strings with quotes and psycopg2's database alias", () => {
    expect(parseConnectionString("host=db port=5 database=syn user='a b' password='it\\'s'")).toEqual({
      host: 'db', port: '5', dbname: 'syn', user: 'a b', password: "it's",
    });
  });

  it('rejects malformed strings without echoing them', () => {
    for (const bad of ['mysql://u:topsecret@h/db', 'postgresql://u:topsecret@[::1/db', "password='topsecret"]) {
      const err = expectUsageError(() => parseConnectionString(bad), 'dsn-invalid', /--dsn/);
      expect(err.message).not.toContain('topsecret');
    }
  });

  it('applies --dsn over --config over PG* variables, like libpq', () => {
    const env = { HOME: '/nonexistent', PGHOST: 'envhost', PGUSER: 'envuser', PGPASSWORD: 'envpass', PGDATABASE: 'envdb', PGPORT: '7000' };
    const fromEnv = resolveTargets({ env }).targets[0]!;
    expect(fromEnv.connection).toMatchObject({ host: 'envhost', user: 'envuser', database: 'envdb', port: 7000, password: 'envpass', passwordSource: 'PGPASSWORD' });
    expect(fromEnv.source).toBe('environment');
    const fromConfig = resolveTargets({ configPaths: [fixture('homeserver-socket.yaml')], env }).targets[0]!;
    // The config has no password and no port: libpq takes them from the environment.
    expect(fromConfig.connection).toMatchObject({ host: '/var/run/postgresql', user: 'synapse', database: 'matrix', port: 7000, password: 'envpass' });
    const fromDsn = resolveTargets({ dsn: 'postgresql://dsnuser@dsnhost/dsndb', configPaths: [fixture('homeserver.yaml')], env }).targets[0]!;
    expect(fromDsn.connection).toMatchObject({ host: 'dsnhost', user: 'dsnuser', database: 'dsndb', port: 5433 });
    expect(fromDsn.synapse?.cpMax).toBe(10);
    expect(() => resolveTargets({ dsn: 'postgresql://h/db', configPaths: [fixture('databases.yaml')], env })).toThrow(/several/);
  });

  it('finds the password in .pgpass with libpq\'s matching, and ignores a file others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-pgpass-'));
    const file = join(dir, '.pgpass');
    writeFileSync(file, ['# comment', 'other:*:*:*:nope', 'localhost:5432:synapse:synapse_user:pa\\:ss', 'db.internal:*:*:*:wild', ''].join('\n'));
    chmodSync(file, 0o600);
    expect(lookupPgpass(file, '/var/run/postgresql', 5432, 'synapse', 'synapse_user')).toBe('pa:ss');
    expect(lookupPgpass(file, 'db.internal', 1, 'x', 'y')).toBe('wild');
    expect(lookupPgpass(file, 'elsewhere', 5432, 'synapse', 'synapse_user')).toBeUndefined();
    const { targets } = resolveTargets({ dsn: 'host=db.internal dbname=x user=y', env: { HOME: dir } });
    expect(targets[0]!.connection).toMatchObject({ password: 'wild', passwordSource: 'pgpass' });
    chmodSync(file, 0o644);
    expect(lookupPgpass(file, 'db.internal', 1, 'x', 'y')).toBeUndefined();
  });
});

describe('bad input on the command line', () => {
  it('malformed YAML: exit 2, one line naming file and position, no password, no stack trace', async () => {
    const r = await runCli(['check', '--config', fixture('malformed.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/malformed\.yaml is not valid YAML at line \d+/);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('SQLite config: exit 2 with the two-phase port in text and JSON', async () => {
    const text = await runCli(['--config', fixture('sqlite.yaml')]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('synapse_port_db --sqlite-database /data/homeserver.db.snapshot');
    const json = await runCli(['check', '--config', fixture('sqlite.yaml'), '--format', 'json']);
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc.error.code).toBe('config-sqlite');
    expect(doc.error.remediation.length).toBeGreaterThan(1);
  });

  it('unknown flags, unknown check ids and bad values: exit 2', async () => {
    expect((await runCli(['check', '--no-such-flag'])).code).toBe(2);
    const unknown = await runCli(['check', '--only', 'no-such-check', '--dsn', 'postgresql://h/db']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"no-such-check"');
    expect((await runCli(['check', '--fail-on', 'sometimes'])).code).toBe(2);
    expect((await runCli(['explain', 'nope'])).code).toBe(2);
    const badDsn = await runCli(['--dsn', 'mysql://root:topsecret@h/db', '--format', 'json']);
    expect(badDsn.code).toBe(2);
    expect(JSON.parse(badDsn.stdout).error.code).toBe('dsn-invalid');
    expect(badDsn.stdout).not.toContain('topsecret');
  });
});
