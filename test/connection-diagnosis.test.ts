// Connection failures diagnosed before any check runs: each case is built on a real server with a
// pg_hba.conf written here, the printed remediation is applied as a user would apply it, and the
// login then succeeds.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { resolveTargets } from '../src/config/resolve.js';
import { DEFAULT_LIMITS, openSession } from '../src/connection.js';
import { PreflightError } from '../src/errors.js';
import { freePort, startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import type { Remediation } from '../src/types.js';
import { runCli } from './helpers/cli.js';
import { clientTools, runPasted } from './helpers/shell.js';
import { applyYaml, hasSetsid, insertAbove, runPastedWithInput, writeConfig } from './helpers/pasted.js';
import { uniqueName } from './helpers/servers.js';
import { matrixMajors, specFor } from './helpers/matrix.js';

/**
 * "no encryption" where the server could also have offered GSSAPI encryption (12+ built with
 * GSSAPI, as Debian's is) and on every 17+; "SSL off" otherwise (the embedded 10).
 */
function saysNoEncryption(major: number): boolean {
  return major >= 17 || (major >= 12 && specFor(major).startsWith('system:'));
}

const PASSWORD = 'Tr0ub4dor&3:never-print';
// The test's own superuser access, above whatever each case writes below it.
const ADMIN_HBA = ['local all postgres trust', 'host all postgres 127.0.0.1/32 trust', 'host all postgres ::1/128 trust', ''].join('\n');

/** A non-loopback IPv4 address of this machine, for "the real client network" cases. */
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

interface Diagnosis {
  code: number;
  output: string;
  error: { code: string; message: string; remediation: Remediation[] };
  elapsedMs: number;
}

async function diagnose(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Diagnosis> {
  const t0 = performance.now();
  const json = await runCli([...args, '--format', 'json', '--connect-timeout', '3'], env);
  const elapsedMs = performance.now() - t0;
  const text = await runCli([...args, '--connect-timeout', '3'], env);
  expect(json.code).toBe(3);
  expect(text.code).toBe(3);
  const output = json.stdout + json.stderr + text.stdout + text.stderr;
  // Whatever the error, the password never appears, in any encoding.
  expect(output).not.toContain(PASSWORD);
  expect(output).not.toContain(encodeURIComponent(PASSWORD));
  expect(output).not.toMatch(/\n\s+at /);
  return { code: json.code, output, error: JSON.parse(json.stdout).error, elapsedMs };
}

function step(d: Diagnosis, kind: Remediation['kind'], title?: RegExp): string {
  const found = d.error.remediation.find((s) => s.kind === kind && (!title || title.test(s.title ?? '')));
  if (!found) throw new Error(`no ${kind} step${title ? ` titled ${title}` : ''} in ${JSON.stringify(d.error.remediation, null, 2)}`);
  return found.text;
}

/** Logs in through pg-preflight's own connection code; undefined when it worked. */
async function login(dsn: string, env: NodeJS.ProcessEnv = {}): Promise<PreflightError | undefined> {
  const { targets } = resolveTargets({ dsn, env: { HOME: '/nonexistent', ...env } });
  try {
    const session = await openSession(targets[0]!, { ...DEFAULT_LIMITS, connectTimeoutMs: 3000 });
    await session.close();
    return undefined;
  } catch (e) {
    if (e instanceof PreflightError) return e;
    throw e;
  }
}

const tcp = (host: string, port: number, db: string, user: string, password?: string) =>
  `postgresql://${encodeURIComponent(user)}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@${host.includes(':') ? `[${host}]` : host}:${port}/${encodeURIComponent(db)}?sslmode=disable`;
const socket = (dir: string, port: number, db: string, user: string, password?: string) =>
  `postgresql://${encodeURIComponent(user)}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@/${encodeURIComponent(db)}?host=${encodeURIComponent(dir)}&port=${port}`;

describe.each(matrixMajors())('connection diagnosis on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;

  async function admin(sql: string): Promise<void> {
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }

  /** A role (password stored the server's default way unless told) and a database it owns. */
  async function roleAndDb(opts: { password?: string; encryption?: 'md5' | 'scram-sha-256'; db?: boolean } = {}): Promise<{ user: string; db: string }> {
    const user = uniqueName('Syn User');
    const db = uniqueName('syn_db');
    const pw = opts.password === undefined ? '' : ` PASSWORD '${opts.password.replace(/'/g, "''")}'`;
    await admin(`${opts.encryption ? `SET password_encryption = '${opts.encryption}'; ` : ''}CREATE ROLE "${user}" LOGIN${pw}`);
    if (opts.db !== false) await admin(`CREATE DATABASE "${db}" OWNER "${user}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    return { user, db };
  }

  function hba(): string {
    return readFileSync(server.hbaFile, 'utf8');
  }

  beforeAll(async () => {
    // Listening on every address lets one case connect from a non-loopback address of this machine.
    server = await startThrowawayServer({ server: specFor(major), hba: ADMIN_HBA, settings: { listen_addresses: '*' } });
  });
  afterAll(async () => server?.stop());

  it('ident over TCP (127.0.0.1): the scram-sha-256 line for this database, role and address, inserted above the ident line, lets the login through', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 ident\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-ident');
    expect(d.error.message).toMatch(/Ident authentication failed.*port 113/);
    expect(step(d, 'sql', /Find pg_hba.conf/)).toBe('SHOW hba_file;');
    expect(step(d, 'sql', /Reload/)).toBe('SELECT pg_reload_conf();');
    const line = step(d, 'config');
    expect(line).toMatch(new RegExp(`^host\\s+${db}\\s+"${user}"\\s+127\\.0\\.0\\.1/32\\s+scram-sha-256$`));
    await server.writeHba(insertAbove(hba(), line, /\bident\b/));
    const after = await login(dsn);
    if (major < 14) {
      // password_encryption was md5 before PostgreSQL 14: the scram-sha-256 line now reaches the
      // password, stored as MD5, and the next diagnosis says how to store it as SCRAM.
      expect(after?.code).toBe('auth-password');
      const again = await diagnose(['--dsn', dsn]);
      expect(again.error.code).toBe('auth-password');
      if (!clientTools || !hasSetsid) return;
      const r = runPastedWithInput(step(again, 'shell', /SCRAM/), [PASSWORD, PASSWORD]);
      expect(r.status, r.stderr).toBe(0);
      expect(await login(dsn)).toBeUndefined();
    } else {
      expect(after).toBeUndefined();
    }
  });

  it('ident over IPv6 with no password configured: the seed guide\'s trust line for ::1/128', async () => {
    const { user, db } = await roleAndDb();
    await server.writeHba(`${ADMIN_HBA}host all all ::1/128 ident\n`);
    const dsn = tcp('::1', server.port, db, user);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-ident');
    const line = step(d, 'config');
    expect(line).toMatch(new RegExp(`^host\\s+${db}\\s+"${user}"\\s+::1/128\\s+trust$`));
    await server.writeHba(insertAbove(hba(), line, /\bident\b/));
    expect(await login(dsn)).toBeUndefined();
  });

  it.skipIf(!lanAddress)('ident from a non-loopback address of this machine: the line names the real client address', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(`${ADMIN_HBA}host all all 0.0.0.0/0 ident\n`);
    const dsn = tcp(lanAddress!, server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-ident');
    const line = step(d, 'config');
    expect(line).toMatch(new RegExp(`^host\\s+${db}\\s+"${user}"\\s+${lanAddress!.replace(/\./g, '\\.')}/32\\s+scram-sha-256$`));
    expect(d.error.remediation.some((s) => /would admit its whole network/.test(s.text))).toBe(true);
    await server.writeHba(insertAbove(hba(), line, /\bident\b/));
    expect(await login(dsn)).toBeUndefined();
  });

  it('peer on the Unix socket (this test runs as another OS user than the role): a local line above the peer line', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(`${ADMIN_HBA}local all all peer\n`);
    const dsn = socket(server.socketDir, server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-peer');
    expect(d.error.message).toMatch(/Peer authentication failed.*OS user/);
    const line = step(d, 'config', /Add to pg_hba.conf/);
    expect(line).toMatch(new RegExp(`^local\\s+${db}\\s+"${user}"\\s+scram-sha-256$`));
    // The alternatives: TCP with a password, or an ident map.
    expect(d.error.remediation.map((s) => s.text).join('\n')).toMatch(/host: 127\.0\.0\.1[\s\S]*map=synapse/);
    await server.writeHba(insertAbove(hba(), line, /\bpeer\b/));
    expect(await login(dsn)).toBeUndefined();
  });

  it('peer on the Unix socket, the ident-map alternative: the printed pg_ident.conf and peer map= lines admit this OS user', async () => {
    const { user, db } = await roleAndDb();
    await server.writeHba(`${ADMIN_HBA}local all all peer\n`);
    const dsn = socket(server.socketDir, server.port, db, user);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-peer');
    const identLine = step(d, 'config', /pg_ident\.conf/);
    const mapLine = step(d, 'config', /above the broad peer line/);
    expect(mapLine).toMatch(new RegExp(`^local\\s+${db}\\s+"${user}"\\s+peer map=synapse$`));
    writeFileSync(join(server.dataDir, 'pg_ident.conf'), `${identLine}\n`);
    await server.writeHba(insertAbove(hba(), mapLine, /\bpeer\b/));
    expect(await login(dsn)).toBeUndefined();
  });

  it('scram-sha-256 rule and an MD5-stored password: the printed query shows "md5", the printed psql command stores it as SCRAM', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'md5' });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-password');
    expect(d.error.message).toMatch(/stored as MD5 while pg_hba.conf asks for scram-sha-256/);
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    const rows = (await c.query(step(d, 'sql', /how is its password stored/))).rows;
    await c.end();
    expect(rows).toEqual([{ rolname: user, stored_as: 'md5' }]);
    if (!clientTools || !hasSetsid) return;
    const r = runPastedWithInput(step(d, 'shell', /SCRAM/), [PASSWORD, PASSWORD]);
    expect(r.status, r.stderr).toBe(0);
    expect(await login(dsn)).toBeUndefined();
  });

  it('a password rule and no password configured: the printed YAML adds it', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const config = writeConfig(`database:\n  name: psycopg2\n  args:\n    user: "${user}"\n    dbname: ${db}\n    host: 127.0.0.1\n    port: ${server.port}\n    sslmode: disable\n`);
    const d = await diagnose(['--config', config]);
    expect(d.error.code).toBe('auth-no-password');
    const snippet = step(d, 'config', /password/).replace(/"the password of .*"/, JSON.stringify(PASSWORD));
    const fixed = applyYaml(config, snippet);
    expect((await runCli(['--config', fixed, '--only', 'server-version'])).code).not.toBe(3);
  });

  it.each([
    ['TCP', 'tcp'],
    ['the socket', 'socket'],
  ])('no pg_hba.conf entry over %s: the exact line for the host, role, database and SSL state in the message', async (_label, via) => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(ADMIN_HBA);
    const dsn = via === 'tcp' ? tcp('127.0.0.1', server.port, db, user, PASSWORD) : socket(server.socketDir, server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-no-hba-entry');
    expect(d.error.message).toContain(saysNoEncryption(major) ? 'no encryption' : 'SSL off');
    const line = step(d, 'config');
    expect(line).toMatch(via === 'tcp' ? new RegExp(`^host\\s+${db}\\s+"${user}"\\s+127\\.0\\.0\\.1/32\\s+scram-sha-256$`) : new RegExp(`^local\\s+${db}\\s+"${user}"\\s+scram-sha-256$`));
    await server.writeHba(`${hba()}${line}\n`);
    expect(await login(dsn)).toBeUndefined();
  });

  it('a reject line: the admitting line goes above it', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 reject\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-hba-reject');
    await server.writeHba(insertAbove(hba(), step(d, 'config'), /\breject\b/));
    expect(await login(dsn)).toBeUndefined();
  });

  it.skipIf(!clientTools || !hasSetsid)('a missing role: the printed createuser --pwprompt creates it with a SCRAM password', async () => {
    const user = uniqueName('new_role');
    const db = uniqueName('syn_db');
    await admin(`CREATE DATABASE "${db}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    // Only trust, peer and ident rules say "role does not exist"; password rules hide it.
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 trust\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-no-role');
    const createuser = step(d, 'shell', /Create the role/);
    expect(createuser).toMatch(/createuser .*--pwprompt/);
    const r = runPastedWithInput(createuser, [PASSWORD, PASSWORD]);
    expect(r.status, r.stderr).toBe(0);
    // The password it set is a SCRAM one: a scram-sha-256 rule admits it.
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    expect(await login(dsn)).toBeUndefined();
  });

  it.skipIf(!clientTools)('a missing role without a password configured: plain createuser', async () => {
    const user = uniqueName('new_role');
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 trust\n`);
    const dsn = tcp('127.0.0.1', server.port, 'postgres', user);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('auth-no-role');
    const r = runPasted(step(d, 'shell', /Create the role/));
    expect(r.status, r.stderr).toBe(0);
    expect(await login(dsn)).toBeUndefined();
  });

  it.skipIf(!clientTools)('a missing database: the printed createdb makes a UTF8 / C database owned by the role', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256', db: false });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe('connect-no-database');
    const createdb = step(d, 'shell');
    expect(createdb).toContain('--encoding=UTF8 --locale=C --template=template0');
    const r = runPasted(createdb);
    expect(r.status, r.stderr).toBe(0);
    expect(await login(dsn)).toBeUndefined();
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    const row = (await c.query('SELECT pg_encoding_to_char(encoding) AS enc, datcollate, datctype, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [db])).rows[0];
    await c.end();
    expect(row).toEqual({ enc: 'UTF8', datcollate: 'C', datctype: 'C', owner: user });
  });

  it.each([
    ['role', 'ROLE', 'connect-role-limit'],
    ['database', 'DATABASE', 'connect-database-limit'],
  ])('a used-up %s CONNECTION LIMIT: the printed ALTER lifts it', async (_what, kind, code) => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await admin(`ALTER ${kind} "${kind === 'ROLE' ? user : db}" CONNECTION LIMIT 0`);
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const dsn = tcp('127.0.0.1', server.port, db, user, PASSWORD);
    const d = await diagnose(['--dsn', dsn]);
    expect(d.error.code).toBe(code);
    await admin(step(d, 'sql', /Remove/));
    expect(await login(dsn)).toBeUndefined();
  });

  it('sslmode=require against a server without SSL: the printed sslmode lets it connect', async () => {
    const { user, db } = await roleAndDb({ password: PASSWORD, encryption: 'scram-sha-256' });
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const config = writeConfig(`database:\n  name: psycopg2\n  args:\n    user: "${user}"\n    password: "${PASSWORD}"\n    dbname: ${db}\n    host: 127.0.0.1\n    port: ${server.port}\n    sslmode: require\n`);
    const d = await diagnose(['--config', config]);
    expect(d.error.code).toBe('connect-ssl-unsupported');
    const fixed = applyYaml(config, step(d, 'config'));
    expect((await runCli(['--config', fixed, '--only', 'server-version'])).code).not.toBe(3);
  });
});

describe('servers that never answer: exit 3 within the connect timeout', () => {
  it('a TCP listener that accepts and stays silent', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = performance.now();
      const r = await runCli(['--dsn', `postgresql://u:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/db`, '--connect-timeout', '2', '--format', 'json']);
      const elapsed = performance.now() - t0;
      expect(r.code).toBe(3);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe('connect-timeout');
      expect(err.message).toMatch(/within 2 s.*accepted the TCP connection.*ident/);
      expect(r.stdout).not.toContain(PASSWORD);
      // Bounded by the timeout, not a hang (a wide margin for a loaded machine).
      expect(elapsed).toBeLessThan(8000);
    } finally {
      silent.close();
    }
  });

  describe.each(matrixMajors())('an ident rule and an ident server that never replies (PostgreSQL %i)', (major) => {
    let server: ThrowawayServer;
    let identd: net.Server | undefined;
    const held: net.Socket[] = [];
    beforeAll(async () => {
      server = await startThrowawayServer({ server: specFor(major), hba: `${ADMIN_HBA}host all all 127.0.0.1/32 ident\n` });
      // Port 113 needs root; where it is taken or not ours to bind, the case skips (visibly).
      identd = await new Promise<net.Server | undefined>((resolve) => {
        const s = net.createServer((sock) => { held.push(sock); });
        s.once('error', () => resolve(undefined));
        s.listen(113, '127.0.0.1', () => resolve(s));
      });
    });
    afterAll(async () => {
      for (const s of held) s.destroy();
      identd?.close();
      await server?.stop();
    });

    it('ends in exit 3 with the timeout, and the printed line lets the login through', async (ctx) => {
      if (!identd) ctx.skip();
      const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      await c.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE synapse_user LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
      await c.end();
      const dsn = `postgresql://synapse_user:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/postgres`;
      const t0 = performance.now();
      const r = await runCli(['--dsn', dsn, '--connect-timeout', '2', '--format', 'json']);
      const elapsed = performance.now() - t0;
      expect(r.code).toBe(3);
      expect(r.stdout).not.toContain(PASSWORD);
      const err = JSON.parse(r.stdout).error as Diagnosis['error'];
      expect(err.code).toBe('connect-timeout');
      expect(err.message).toMatch(/ident/);
      expect(elapsed).toBeLessThan(8000);
      expect(held.length).toBeGreaterThan(0);
      const line = err.remediation.find((s) => s.kind === 'config')!.text;
      expect(line).toMatch(/^host\s+postgres\s+synapse_user\s+127\.0\.0\.1\/32\s+scram-sha-256$/);
      await server.writeHba(insertAbove(readFileSync(server.hbaFile, 'utf8'), line, /\bident\b/));
      expect(await login(dsn)).toBeUndefined();
    });
  });
});

describe('nothing there', () => {
  it('connection refused: exit 3, where the server must listen', async () => {
    const port = await freePort();
    const d = await diagnose(['--dsn', `postgresql://u:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/db`]);
    expect(d.error.code).toBe('connect-refused');
    expect(d.error.message).toMatch(/nothing accepts connections at 127\.0\.0\.1:\d+/);
    expect(step(d, 'sql', /where the server listens/)).toBe('SHOW listen_addresses;\nSHOW port;');
  });

  it('a host name that does not resolve: exit 3', async () => {
    const d = await diagnose(['--dsn', `postgresql://u:${encodeURIComponent(PASSWORD)}@no-such-host.invalid/db`]);
    expect(d.error.code).toBe('connect-unknown-host');
  });
});

describe.each(matrixMajors())('a full server (PostgreSQL %i)', (major) => {
  let server: ThrowawayServer;
  const held: pg.Client[] = [];
  beforeAll(async () => {
    // 6 slots, 2 of them for superusers; no WAL senders (PostgreSQL 10 wants fewer than max_connections).
    server = await startThrowawayServer({ server: specFor(major), settings: { max_connections: 6, superuser_reserved_connections: 2, max_wal_senders: 0 } });
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('CREATE ROLE app LOGIN');
    await c.end();
  });
  afterAll(async () => {
    await Promise.all(held.map((c) => c.end().catch(() => undefined)));
    await server?.stop();
  });

  it('the ordinary slots used up: "reserved slots"; every slot used up: "too many clients"; the printed query runs in a reserved slot', async () => {
    const connect = async (user: string) => {
      const c = new pg.Client({ host: server.socketDir, port: server.port, user, database: 'postgres' });
      await c.connect();
      held.push(c);
      return c;
    };
    for (let i = 0; i < 4; i++) await connect('app');
    const reserved = await diagnose(['--dsn', `postgresql://app@127.0.0.1:${server.port}/postgres`]);
    expect(reserved.error.code).toBe('connect-too-many');
    expect(reserved.error.message).toMatch(/only the slots reserved for superusers are left/);
    const admin = await connect('postgres');
    const rows = (await admin.query(step(reserved, 'sql', /who holds the connections/))).rows;
    expect(rows).toContainEqual(expect.objectContaining({ usename: 'app', count: '4' }));
    await connect('postgres');
    const full = await diagnose(['--dsn', `postgresql://postgres@127.0.0.1:${server.port}/postgres`]);
    expect(full.error.code).toBe('connect-too-many');
    expect(full.error.message).toMatch(/too many clients already/);
  });
});

describe.skipIf(!existsSync('/usr/bin/openssl')).each(matrixMajors())('SSL (PostgreSQL %i, a self-signed certificate)', (major) => {
  let server: ThrowawayServer;
  let certDir: string;
  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'pgpf-ssl-'));
    const r = spawnSync('openssl', ['req', '-new', '-x509', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(certDir, 'server.key'), '-out', join(certDir, 'server.crt')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The server (run as "postgres" when we are root) reads the key, and wants it private.
    const uid = process.getuid?.() === 0 ? Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))?.split(':')[2] ?? 0) : undefined;
    chmodSync(certDir, 0o755);
    chmodSync(join(certDir, 'server.key'), 0o600);
    if (uid) for (const f of ['server.key', 'server.crt']) chownSync(join(certDir, f), uid, uid);
    server = await startThrowawayServer({
      major,
      hba: `${ADMIN_HBA}hostssl all all 127.0.0.1/32 scram-sha-256\n`,
      settings: { ssl: 'on', ssl_cert_file: join(certDir, 'server.crt'), ssl_key_file: join(certDir, 'server.key') },
    });
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE synapse_user LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
    // So that auth-hba can show which line (hostssl) let it in.
    await c.query('GRANT SELECT ON pg_hba_file_rules TO synapse_user; GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO synapse_user');
    await c.end();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  const config = (sslmode: string) =>
    writeConfig(`database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: "${PASSWORD}"\n    dbname: postgres\n    host: 127.0.0.1\n    port: ${server.port}\n    sslmode: ${sslmode}\n`);

  it('the server admits only SSL and sslmode is disable: the message says "SSL off", the printed sslmode: require gets in', async () => {
    const file = config('disable');
    const d = await diagnose(['--config', file]);
    expect(d.error.code).toBe('auth-no-hba-entry');
    expect(d.error.message).toMatch(saysNoEncryption(major) ? /no encryption/ : /SSL off/);
    const fixed = applyYaml(file, step(d, 'config', /connect with SSL instead/));
    const r = await runCli(['--config', fixed, '--only', 'auth-hba', '--format', 'json']);
    expect(r.code).not.toBe(3);
    expect(JSON.parse(r.stdout).results[0].message).toMatch(/over TCP from 127\.0\.0\.1 with SSL\) matched line 4/);
  });

  it('sslmode allow: the plain login the server refuses (hostssl only) is tried again with SSL, as libpq does', async () => {
    const r = await runCli(['--config', config('allow'), '--only', 'auth-hba', '--format', 'json']);
    expect(r.code, r.stdout + r.stderr).not.toBe(3);
    expect(JSON.parse(r.stdout).results[0].message).toMatch(/over TCP from 127\.0\.0\.1 with SSL\) matched line 4/);
  });

  it('sslmode prefer, set or left to libpq\'s default: SSL on the first and only connection, so hostssl admits it', async () => {
    const withoutSslmode = writeConfig(`database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: "${PASSWORD}"\n    dbname: postgres\n    host: 127.0.0.1\n    port: ${server.port}\n`);
    for (const file of [config('prefer'), withoutSslmode]) {
      const r = await runCli(['--config', file, '--only', 'auth-hba', '--format', 'json']);
      expect(r.code, r.stdout + r.stderr).not.toBe(3);
      expect(JSON.parse(r.stdout).results[0].message).toMatch(/over TCP from 127\.0\.0\.1 with SSL\) matched line 4/);
    }
  });

  it('sslmode verify-full and a certificate no root vouches for: the printed sslrootcert (pointed at the CA) verifies it', async () => {
    const file = config('verify-full');
    const d = await diagnose(['--config', file]);
    expect(d.error.code).toBe('connect-ssl-verify');
    const snippet = step(d, 'config', /CA that signed/).replace('/path/to/root.crt', join(certDir, 'server.crt'));
    const fixed = applyYaml(file, snippet);
    const r = await runCli(['--config', fixed, '--only', 'auth-hba', '--format', 'json']);
    expect(r.code).not.toBe(3);
    expect(JSON.parse(r.stdout).results[0].message).toMatch(/hostssl all all 127\.0\.0\.1\/32 scram-sha-256"/);
  });
});

describe.each(matrixMajors())('sslmode prefer against a server without SSL (PostgreSQL %i)', (major) => {
  let server: ThrowawayServer;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { log_connections: 'on' } });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const connectionsLogged = () => (readFileSync(join(server.dataDir, '..', 'server.log'), 'utf8').match(/connection received:/g) ?? []).length;

  it('goes on without SSL over the same connection, as libpq does: one backend, not a refused SSL one and a second', async () => {
    const before = connectionsLogged();
    const r = await runCli(['--dsn', `postgresql://postgres@127.0.0.1:${server.port}/postgres?sslmode=prefer`, '--only', 'server-version', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    // The log line is written by the backend as it starts; give a late one a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connectionsLogged() - before).toBe(1);
  });
});
