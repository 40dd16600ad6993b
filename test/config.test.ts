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
    // With hostaddr, libpq still looks the password up under the host name.
    expect(resolveTargets({ dsn: 'hostaddr=10.9.9.9 host=db.internal dbname=x user=y', env: { HOME: dir } }).targets[0]!.connection).toMatchObject({ host: '10.9.9.9', password: 'wild' });
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

/** A homeserver.yaml with this `database:` section, in a fresh directory. */
function configWith(database: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgpf-hs-')), 'homeserver.yaml');
  writeFileSync(file, `server_name: example.org\ndatabase:\n${database.replace(/^/gm, '  ')}\n`);
  return file;
}
const psycopg2 = (args: string) => configWith(`name: psycopg2\nargs:\n  user: synapse_user\n  password: hunter2\n  dbname: synapse\n${args.replace(/^/gm, '  ')}`);
const fromConfig = (file: string, env: NodeJS.ProcessEnv = noEnv) => resolveTargets({ configPaths: [file], env });
const yaml11 = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'config', 'yaml11', name);

describe('values as Synapse sees them (PyYAML, Python, Twisted, psycopg2)', () => {
  it('YAML 1.1 booleans: allow_unsafe_locale: yes is true, cp_reconnect: Off is false, with nothing to remark', () => {
    const t = fromConfig(yaml11('booleans.yaml')).targets[0]!;
    expect(t.synapse).toMatchObject({ allowUnsafeLocale: true, cpReconnect: false, notes: [] });
  });

  it('flags Synapse only tests for truth: a quoted "no" is true, 0 is false, and the notes say so', () => {
    const t = fromConfig(yaml11('truthiness.yaml')).targets[0]!;
    expect(t.synapse).toMatchObject({ allowUnsafeLocale: true, cpReconnect: false });
    expect(t.synapse!.notes).toEqual([
      'database.allow_unsafe_locale is \'no\' (a str), which Synapse reads as true, as Python\'s truth test does',
      'database.args.cp_reconnect is 0 (an int), which Synapse reads as false, as Python\'s truth test does',
    ]);
    const empty = fromConfig(psycopg2('cp_reconnect: ""')).targets[0]!;
    expect(empty.synapse).toMatchObject({ cpReconnect: false });
    // An empty cp_reconnect is None, which beats Synapse's setdefault(True): reconnecting is off.
    expect(fromConfig(psycopg2('cp_reconnect:')).targets[0]!.synapse).toMatchObject({ cpReconnect: false });
    expect(fromConfig(psycopg2('')).targets[0]!.synapse!.cpReconnect).toBeUndefined();
  });

  it('YAML 1.1 integers and floats reach libpq as psycopg2 writes them: str() of the Python value', () => {
    const ints = fromConfig(yaml11('integers.yaml')).targets[0]!;
    expect(ints.connection.port).toBe(5432); // 0x1538
    expect(ints.synapse).toMatchObject({ cpMin: 5, cpMax: 10, pool: { min: 5, max: 10 } }); // 0_5 is octal
    const floats = fromConfig(yaml11('floats.yaml')).targets[0]!;
    expect(floats.connection.keywords).toMatchObject({ connect_timeout: '10.0', keepalives_idle: '10.5' });
    const nulls = fromConfig(yaml11('nulls-and-timestamps.yaml')).targets[0]!;
    expect(nulls.connection.keywords).not.toHaveProperty('application_name');
    expect(nulls.connection.keywords).not.toHaveProperty('sslrootcert');
    expect(nulls.synapse!.allowUnsafeLocale).toBe(false);
  });

  it('a repeated key keeps its last value and merge keys share args, as in PyYAML', () => {
    expect(fromConfig(yaml11('repeated-keys.yaml')).targets[0]!.connection.database).toBe('synapse');
    const merged = fromConfig(yaml11('merge-keys.yaml')).targets;
    expect(merged.map((t) => [t.label, t.connection.host, t.connection.user, t.connection.database])).toEqual([
      ['main_db', 'db.internal', 'synapse_user', 'synapse_main'],
      ['state_db', 'db2.internal', 'synapse_user', 'synapse_state'],
    ]);
  });

  it('a file PyYAML cannot construct is refused like malformed YAML', () => {
    expectUsageError(() => fromConfig(yaml11('value-tag.yaml')), 'config-yaml', /value-tag\.yaml is not valid YAML.*could not determine a constructor/);
  });

  it('cp_min above cp_max is what Twisted makes of it (both cp_max), not an error', () => {
    const t = fromConfig(fixture('budget-cp-min-over-max.yaml')).targets[0]!;
    expect(t.synapse).toMatchObject({ cpMin: 10, cpMax: 5, pool: { min: 5, max: 5 } });
    expect(t.synapse!.notes).toEqual(['database.args.cp_min 10 is above cp_max 5: Twisted lowers it to 5 (min(cp_min, cp_max)) and Synapse starts']);
    // Twisted's defaults are 3 and 5: cp_max 2 alone lowers the minimum too.
    expect(fromConfig(psycopg2('cp_max: 2')).targets[0]!.synapse!.pool).toEqual({ min: 2, max: 2 });
  });

  it.each([
    ['cp_min: "5"', /database\.args\.cp_min is '5' \(a str\).*TypeError: '<' not supported between instances of 'int' and 'str'/],
    ['cp_max: "10"', /database\.args\.cp_max is '10' \(a str\).*TypeError: '<' not supported between instances of 'str' and 'int'/],
    ['cp_min: "5"\ncp_max: "10"', /cp_min is '5' \(a str\).*TypeError: '>=' not supported between instances of 'str' and 'int'/],
    ['cp_min:', /cp_min is None \(a NoneType\).*'<' not supported between instances of 'int' and 'NoneType'/],
    ['cp_min: [1]', /cp_min is \[1\] \(a list\)/],
    ['cp_min: -1', /cp_min is -1 \(an int\).*AssertionError: minimum is negative/],
    ['cp_max: -1', /cp_max is -1 \(an int\).*AssertionError: minimum is negative/],
    ['cp_min: 2.5', /cp_min is 2\.5 \(a float\).*'float' object cannot be interpreted as an integer/],
    ['cp_min: 5.0\ncp_max: 10', /cp_min is 5\.0 \(a float\)/],
    ['cp_max: 10.5', /cp_max is 10\.5 \(a float\).*up to 11/],
    ['cp_max: 0', /cp_max is 0 \(an int\).*wait forever/],
    ['cp_max: no', /cp_max is False \(a bool\).*wait forever/],
    ['cp_openfun: x', /cp_openfun.*got multiple values for keyword argument 'cp_openfun'/],
    ['cp_timeout: 5', /cp_timeout.*invalid connection option "cp_timeout"/],
    ['database: other', /both database and dbname.*you can't specify both 'database' and 'dbname' arguments/],
    ['host: [db1.internal, db2.internal]', /host is a YAML list.*"\['db1\.internal', 'db2\.internal'\]".*"\['db1\.internal'" and " 'db2\.internal'\]".*host: "db1\.internal,db2\.internal"/],
  ])('%j: Synapse would not start, so exit 2 with what it would say', (args, text) => {
    const err = expectUsageError(() => fromConfig(psycopg2(args)), 'config-value', text);
    expect(err.message).toMatch(/homeserver\.yaml/);
    expect(err.message).not.toContain('hunter2');
  });

  it('name: null is None, which Synapse refuses, not sqlite3', () => {
    expectUsageError(() => fromConfig(configWith('name:\nargs: {}')), 'config-database', /Unsupported database type None/);
  });
});

describe("libpq's rules for sslmode, target_session_attrs, port and host, from every source", () => {
  const dsn = (d: string, env: NodeJS.ProcessEnv = noEnv) => resolveTargets({ dsn: d, env });
  it.each([
    ['URI', () => dsn('postgresql://u:hunter2@h/db?sslmode=sometimes'), /^invalid sslmode value: "sometimes" \(libpq's error for the value from --dsn\)$/],
    ['key=value', () => dsn('host=h password=hunter2 sslmode=sometimes'), /^invalid sslmode value: "sometimes" .*--dsn/],
    ['homeserver.yaml', () => fromConfig(psycopg2('sslmode: sometimes')), /^invalid sslmode value: "sometimes" .*from database\.args in .*homeserver\.yaml\)$/],
    ['PGSSLMODE', () => dsn('host=h', { ...noEnv, PGSSLMODE: 'sometimes' }), /^invalid sslmode value: "sometimes" .*from PGSSLMODE\)$/],
    ['empty PGSSLMODE', () => dsn('host=h', { ...noEnv, PGSSLMODE: '' }), /^invalid sslmode value: "" .*PGSSLMODE/],
    ['YAML true as sslmode', () => fromConfig(psycopg2('sslmode: on')), /^invalid sslmode value: "True"/],
    ['target_session_attrs', () => dsn('postgresql://h/db?target_session_attrs=master'), /^invalid target_session_attrs value: "master"/],
    ['PGTARGETSESSIONATTRS', () => dsn('host=h', { ...noEnv, PGTARGETSESSIONATTRS: 'rw' }), /^invalid target_session_attrs value: "rw" .*PGTARGETSESSIONATTRS/],
    ['port x in a URI', () => dsn('postgresql://u:hunter2@h:x/db'), /^invalid integer value "x" for connection option "port" .*--dsn/],
    ['port 0', () => dsn('host=h port=0'), /^invalid port number: "0"/],
    ['port 70000 in YAML', () => fromConfig(psycopg2('port: 70000')), /^invalid port number: "70000" .*database\.args/],
    ['port 5432.0 in YAML', () => fromConfig(psycopg2('port: 5432.0')), /^invalid integer value "5432\.0" for connection option "port"/],
    ['PGPORT', () => dsn('host=h', { ...noEnv, PGPORT: 'abc' }), /^invalid integer value "abc" .*PGPORT/],
    ['three ports for two hosts', () => dsn('host=a,b port=1,2,3'), /^could not match 3 port numbers to 2 hosts/],
    ['two ports for one host', () => dsn('host=a port=5432,'), /^could not match 2 port numbers to 1 hosts/],
    ['host names to hostaddr values', () => dsn('hostaddr=10.0.0.1 host=a,b'), /^could not match 2 host names to 1 hostaddr values/],
  ])('%s', (_name, fn, text) => {
    const err = expectUsageError(fn, 'config-libpq', text);
    expect(err.message).not.toContain('hunter2');
  });

  it('a host list is a list of hosts with ports, never one host "a,b": the first is the target\'s host, all of them are tried', () => {
    const hostsOf = (t: { targets: { connection: { hosts?: { host: string; port: number; hostaddr?: string }[] } }[] }) =>
      t.targets[0]!.connection.hosts!.map((h) => `${h.hostaddr ? `${h.host}=${h.hostaddr}` : h.host}:${h.port}`);
    expect(hostsOf(dsn('postgresql://a,b/db'))).toEqual(['a:5432', 'b:5432']);
    expect(hostsOf(dsn('postgresql://a:1,[::1]:2/db'))).toEqual(['a:1', '::1:2']);
    expect(hostsOf(dsn('host=a,b port=5433'))).toEqual(['a:5433', 'b:5433']);
    // An empty element is libpq's default: the Unix socket directory.
    expect(hostsOf(dsn('host=a,,b port=1,2,3'))[1]).toMatch(/^\/.*:2$/);
    expect(hostsOf(dsn('hostaddr=10.0.0.1,10.0.0.2 host=db1,db2'))).toEqual(['db1=10.0.0.1:5432', 'db2=10.0.0.2:5432']);
    // As Patroni's and repmgr's docs write them for psycopg2: strings in homeserver.yaml args.
    const yaml = fromConfig(psycopg2('host: "db1,db2"\nport: "6432,6433"\ntarget_session_attrs: read-write\nload_balance_hosts: disable'));
    expect(hostsOf(yaml)).toEqual(['db1:6432', 'db2:6433']);
    expect(yaml.targets[0]!.connection).toMatchObject({ host: 'db1', port: 6432, targetSessionAttrs: 'read-write', loadBalanceHosts: 'disable' });
    expect(hostsOf(fromConfig(psycopg2('host: "db1,db2"\nport: 6432')))).toEqual(['db1:6432', 'db2:6432']);
    expect(hostsOf(resolveTargets({ env: { ...noEnv, PGHOST: 'a,b', PGPORT: '1,2' } }))).toEqual(['a:1', 'b:2']);
    const one = dsn('postgresql://solo:6000/db').targets[0]!.connection;
    expect(one).toMatchObject({ host: 'solo', port: 6000, hosts: [{ host: 'solo', port: 6000 }] });
    expect(dsn("host=h port=' 5433 '").targets[0]!.connection.port).toBe(5433);
    const byAddr = dsn('hostaddr=10.0.0.1 host=db port=5').targets[0]!.connection;
    expect(byAddr).toMatchObject({ host: '10.0.0.1', port: 5, hosts: [{ host: 'db', hostaddr: '10.0.0.1', port: 5 }] });
  });

  it('load_balance_hosts: disable and random (libpq 16), anything else is libpq\'s error, from any source', () => {
    expect(dsn('host=a,b load_balance_hosts=random').targets[0]!.connection.loadBalanceHosts).toBe('random');
    expect(dsn('host=a,b', { ...noEnv, PGLOADBALANCEHOSTS: 'disable' }).targets[0]!.connection.loadBalanceHosts).toBe('disable');
    expectUsageError(() => dsn('postgresql://u:hunter2@a,b/db?load_balance_hosts=round-robin'), 'config-libpq', /^invalid load_balance_hosts value: "round-robin" .*--dsn/);
    expectUsageError(() => dsn('host=a,b', { ...noEnv, PGLOADBALANCEHOSTS: 'yes' }), 'config-libpq', /^invalid load_balance_hosts value: "yes" .*PGLOADBALANCEHOSTS\)$/);
    expectUsageError(() => fromConfig(psycopg2('host: "a,b"\nload_balance_hosts: true')), 'config-libpq', /^invalid load_balance_hosts value: "True" .*database\.args/);
  });

  it('with several hosts and no password given, the password file is read for each host, as libpq does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-pgpass-'));
    const file = join(dir, '.pgpass');
    writeFileSync(file, ['db1:5432:syn:u:first-secret', 'db2:5433:syn:u:second-secret', ''].join('\n'));
    chmodSync(file, 0o600);
    const c = dsn('host=db1,db2,db3 port=5432,5433,5434 dbname=syn user=u', { HOME: dir }).targets[0]!.connection;
    expect(c).toMatchObject({ password: 'first-secret', passwordSource: 'pgpass' });
    expect(c.hosts!.map((h) => h.password)).toEqual([undefined, 'second-secret', undefined]);
    // A given password serves every host; the file is not read.
    const given = dsn('host=db1,db2 port=5432,5433 dbname=syn user=u password=typed', { HOME: dir }).targets[0]!.connection;
    expect(given.password).toBe('typed');
    expect(given.hosts!.map((h) => h.password)).toEqual([undefined, undefined]);
  });

  it('on the command line: one line, exit 2, no stack trace, no password', async () => {
    const r = await runCli(['check', '--dsn', 'postgresql://u:hunter2@h/db?sslmode=sometimes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid sslmode value: "sometimes"/);
    expect(r.stderr.trim().split('\n').filter((l) => l.trim())).toHaveLength(1);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    const y = await runCli(['check', '--config', psycopg2('cp_min: "5"'), '--format', 'json']);
    expect(y.code).toBe(2);
    expect(JSON.parse(y.stdout).error.code).toBe('config-value');
    expect(y.stdout).not.toContain('hunter2');
    const balance = await runCli(['check', '--dsn', 'postgresql://u:hunter2@a,b/db?load_balance_hosts=sometimes']);
    expect(balance.code).toBe(2);
    expect(balance.stderr).toMatch(/invalid load_balance_hosts value: "sometimes"/);
    expect(balance.stderr + balance.stdout).not.toContain('hunter2');
    expect(balance.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('sections Synapse tests for truth', () => {
  it('an empty "databases: {}" next to "database:" is ignored, as Synapse ignores it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pgpf-hs-')), 'homeserver.yaml');
    writeFileSync(file, 'databases: {}\ndatabase:\n  name: psycopg2\n  args: { dbname: only }\n');
    expect(resolveTargets({ configPaths: [file], env: noEnv }).targets.map((t) => t.connection.database)).toEqual(['only']);
  });
});
