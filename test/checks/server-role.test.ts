// server-role: every read-only state is built in a real server (role and database settings on a
// fresh role and database of the shared servers; ALTER SYSTEM, ALTER ROLE ALL and the standby on
// private servers), the printed SQL is run with psql as a user would, and the check passes again.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import CHECK from '../../checks/server-role.js';
import { quoteIdent, quoteLiteral } from '../../src/quote.js';
import { applyPrinted, psqlPath, runCheckAt } from '../../src/testing/index.js';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { CheckResult, Finding } from '../../src/types.js';
import { sharedServers, sql, uniqueName } from '../helpers/servers.js';
import { specFor } from '../helpers/matrix.js';
import { streamingPair } from '../helpers/standby.js';

type Server = { host: string; port: number };

const PSQL = psqlPath();
const noPsql = PSQL ? '' : ' (skipped: psql not installed)';
const SYNAPSE_ERROR = 'cannot execute CREATE TABLE in a read-only transaction';

/** key=value, so that a socket directory works as the host and odd names need no URI escaping. */
function dsn(server: Server, database: string, user = 'postgres', extra = ''): string {
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `host=${q(server.host)} port=${server.port} user=${q(user)} dbname=${q(database)} ${extra}`.trim();
}

const check = async (server: Server, database: string, user = 'postgres', extra = ''): Promise<CheckResult> => (await runCheckAt(CHECK, dsn(server, database, user, extra))).result;

function only(r: CheckResult, status: Finding['status']): Finding {
  const found = r.findings.filter((f) => f.status === status);
  expect(found, JSON.stringify(r.findings, null, 2)).toHaveLength(1);
  return found[0]!;
}

/** What Synapse's prepare_database does first, in a session of the application's role. */
async function synapseFirstWrite(server: Server, database: string, user: string): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user, database });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (lock CHAR(1) NOT NULL DEFAULT \'X\' UNIQUE, version INTEGER NOT NULL, upgraded BOOL NOT NULL)');
    return 'written';
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.end();
  }
}

// The printed SQL pasted into psql, each statement on its own; a WARNING or NOTICE fails it too.
const AS_PASTED = { silent: true } as const;

/** pg_reload_conf() only signals the postmaster: wait until a new session sees the value. */
async function waitForSetting(server: Server, expected: string): Promise<void> {
  let seen = '';
  for (let i = 0; i < 200 && seen !== expected; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20));
    const [res] = await sql(server, 'postgres', "SELECT current_setting('default_transaction_read_only') AS v");
    seen = res!.rows[0].v as string;
  }
  expect(seen).toBe(expected);
}

/** Waits until a query on the standby says true: a change made on the primary has been replayed. */
async function waitOnStandby(standby: Server, database: string, condition: string): Promise<void> {
  let seen = false;
  for (let i = 0; i < 500 && !seen; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20));
    const [res] = await sql(standby, database, `SELECT (${condition}) AS done`);
    seen = res!.rows[0].done as boolean;
  }
  expect(seen, condition).toBe(true);
}

/** A login role with an awkward name and a database it owns: what Synapse's setup guide creates. */
async function roleAndDatabase(server: Server): Promise<{ role: string; db: string }> {
  const role = `${uniqueName('ro')} "app" user`;
  const db = `${uniqueName('rodb')} "x"`;
  await sql(server, 'postgres', `CREATE ROLE ${quoteIdent(role)} LOGIN`);
  await sql(server, 'postgres', `CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(role)} TEMPLATE template0`);
  return { role, db };
}

describe.each(sharedServers())('server-role on PostgreSQL $major (role and database settings)', (server) => {
  it('a primary and a fresh role and database: ok, and Synapse\'s first write works', async () => {
    const { role, db } = await roleAndDatabase(server);
    const r = await check(server, db, role);
    expect(r.status).toBe('ok');
    expect(r.message).toBe(`${server.host}:${server.port} (database ${quoteIdent(db)}) is a primary (not in recovery), and sessions of role ${quoteIdent(role)} start read-write (default_transaction_read_only off, from default)`);
    expect(await synapseFirstWrite(server, db, role)).toBe('written');
  });

  it.skipIf(!PSQL)(`ALTER ROLE ... SET default_transaction_read_only = on: error naming the host and the ALTER ROLE; the printed SQL in psql fixes it${noPsql}`, async () => {
    const { role, db } = await roleAndDatabase(server);
    await sql(server, 'postgres', `ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only = on`);
    expect(await synapseFirstWrite(server, db, role)).toBe(SYNAPSE_ERROR);

    const r = await check(server, db, role);
    expect(r.status).toBe('error');
    const f = only(r, 'error');
    expect(f.message).toBe(
      `sessions of role ${quoteIdent(role)} in database ${quoteIdent(db)} on ${server.host}:${server.port} start read-only: default_transaction_read_only is on, set by ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only: ` +
        `Synapse fails at start-up on its first write (prepare_database runs CREATE TABLE IF NOT EXISTS: "${SYNAPSE_ERROR}"). ` +
        'Whether the server-wide value is on as well is hidden under these: run the check again after the fix.',
    );
    expect(f.details).toMatchObject({ defaultTransactionReadOnly: { value: 'on', source: 'user' }, levels: ['user'] });
    expect(await applyPrinted(server, db, f, AS_PASTED)).toEqual([`BEGIN READ WRITE;\nALTER ROLE ${quoteIdent(role)} RESET default_transaction_read_only;\nCOMMIT;`]);

    expect((await check(server, db, role)).status).toBe('ok');
    expect(await synapseFirstWrite(server, db, role)).toBe('written');
  });

  it.skipIf(!PSQL)(`ALTER DATABASE ... SET: the admin's own session there is read-only too, so the fix runs inside BEGIN READ WRITE${noPsql}`, async () => {
    const { role, db } = await roleAndDatabase(server);
    await sql(server, 'postgres', `ALTER DATABASE ${quoteIdent(db)} SET default_transaction_read_only = on`);
    const f = only(await check(server, db, role), 'error');
    expect(f.message).toContain(`default_transaction_read_only is on, set by ALTER DATABASE ${quoteIdent(db)} SET default_transaction_read_only: Synapse fails`);
    const bare = { remediation: [{ kind: 'sql' as const, text: `ALTER DATABASE ${quoteIdent(db)} RESET default_transaction_read_only;` }] };
    await expect(applyPrinted(server, db, bare, AS_PASTED)).rejects.toThrow('cannot execute ALTER DATABASE in a read-only transaction');

    expect(await applyPrinted(server, db, f, AS_PASTED)).toEqual([`BEGIN READ WRITE;\nALTER DATABASE ${quoteIdent(db)} RESET default_transaction_read_only;\nCOMMIT;`]);
    expect((await check(server, db, role)).status).toBe('ok');
    expect(await synapseFirstWrite(server, db, role)).toBe('written');
  });

  it.skipIf(!PSQL)(`on at the role-in-database and role levels over an explicit off for the database: both are reset, the off then wins${noPsql}`, async () => {
    const { role, db } = await roleAndDatabase(server);
    await sql(server, 'postgres', [
      `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)} SET default_transaction_read_only = on`,
      `ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only = 'true'`,
      `ALTER DATABASE ${quoteIdent(db)} SET default_transaction_read_only = off`,
    ].join('; '));
    const f = only(await check(server, db, role), 'error');
    expect(f.message).toContain(
      `set by ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)} SET default_transaction_read_only, and under it by ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only: Synapse fails`,
    );
    expect(f.message).not.toContain('run the check again');
    expect(await applyPrinted(server, db, f, AS_PASTED)).toEqual([
      `BEGIN READ WRITE;\nALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)} RESET default_transaction_read_only;\nALTER ROLE ${quoteIdent(role)} RESET default_transaction_read_only;\nCOMMIT;`,
    ]);
    const after = await check(server, db, role);
    expect(after.status).toBe('ok');
    expect(after.message).toContain('default_transaction_read_only off, from database');
  });

  it('target_session_attrs=read-only asks for it: info; read-write: still an error', async () => {
    const { role, db } = await roleAndDatabase(server);
    await sql(server, 'postgres', `ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only = on`);
    const info = await check(server, db, role, 'target_session_attrs=read-only');
    expect(info.status).toBe('info');
    expect(only(info, 'info').message).toContain('as target_session_attrs=read-only asks. Synapse cannot run on a read-only session.');
    expect((await check(server, db, role, 'target_session_attrs=read-write')).status).toBe('error');
  });

  it('-c default_transaction_read_only=on in the connection options: error naming them; the same connection without them is ok', async () => {
    const { role, db } = await roleAndDatabase(server);
    const f = only(await check(server, db, role, "options='-c default_transaction_read_only=on'"), 'error');
    expect(f.message).toContain("set by the connection's own options (-c default_transaction_read_only=on in the options keyword or PGOPTIONS)");
    expect(f.remediation).toEqual([
      { kind: 'text', title: 'Remove it from the connection', text: 'Delete -c default_transaction_read_only=on from options under database.args in homeserver.yaml (or from the --dsn, or PGOPTIONS).' },
    ]);
    expect((await check(server, db, role)).status).toBe('ok');
  });
});

// ALTER SYSTEM and ALTER ROLE ALL change every session of a cluster: private servers.
describe.each(sharedServers().map((s) => s.major))('server-role on a private PostgreSQL %i (server-wide settings)', (major) => {
  let server: ThrowawayServer;
  let app: { role: string; db: string };
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major) });
    app = await roleAndDatabase(server);
  });
  afterAll(async () => server?.stop());

  it.skipIf(!PSQL)(`ALTER SYSTEM SET ... = on and a reload: error naming postgresql.auto.conf (the application's role, no superuser, is told it is a configuration file); the printed SQL in psql fixes it${noPsql}`, async () => {
    await sql(server, 'postgres', 'ALTER SYSTEM SET default_transaction_read_only = on');
    await sql(server, 'postgres', 'SELECT pg_reload_conf()');
    await waitForSetting(server, 'on');
    expect(await synapseFirstWrite(server, app.db, app.role)).toBe(SYNAPSE_ERROR);

    const asPlain = only(await check(server, app.db, app.role), 'error');
    expect(asPlain.message).toContain('set by a configuration file (postgresql.conf, or postgresql.auto.conf written by ALTER SYSTEM; only a superuser sees which): Synapse fails');
    const f = only(await check(server, 'postgres'), 'error');
    expect(f.message).toContain(`set by ALTER SYSTEM (${join(server.dataDir, 'postgresql.auto.conf')}): Synapse fails`);
    expect(f.details).toMatchObject({ defaultTransactionReadOnly: { value: 'on', source: 'configuration file' }, levels: ['server'] });
    // psql's own session is read-only too: ALTER SYSTEM is allowed there, ALTER ROLE would not be.
    expect(await applyPrinted(server, 'postgres', f, AS_PASTED)).toEqual(['ALTER SYSTEM RESET default_transaction_read_only;\nSELECT pg_reload_conf();']);
    await waitForSetting(server, 'off');
    expect((await check(server, app.db, app.role)).status).toBe('ok');
    expect(await synapseFirstWrite(server, app.db, app.role)).toBe('written');
  });

  it.skipIf(!PSQL)(`a line in postgresql.conf: error naming the file and line; the printed ALTER SYSTEM overrides it${noPsql}`, async () => {
    const conf = join(server.dataDir, 'postgresql.conf');
    appendFileSync(conf, '\ndefault_transaction_read_only = on\n');
    const line = readFileSync(conf, 'utf8').split('\n').length - 1;
    await server.reload();
    await waitForSetting(server, 'on');
    // Only a superuser sees which file and line.
    const f = only(await check(server, 'postgres'), 'error');
    expect(f.message).toContain(`set by ${conf} line ${line}: Synapse fails`);
    expect(f.remediation![0]!.title).toContain(`Override ${conf} line ${line} (or delete that line there and reload)`);
    expect(await applyPrinted(server, 'postgres', f, AS_PASTED)).toEqual(['ALTER SYSTEM SET default_transaction_read_only = off;\nSELECT pg_reload_conf();']);
    await waitForSetting(server, 'off');
    expect((await check(server, app.db, app.role)).status).toBe('ok');
  });

  it.skipIf(!PSQL)(`ALTER ROLE ALL SET: error naming it; the printed ALTER ROLE ALL RESET fixes it${noPsql}`, async () => {
    await sql(server, 'postgres', 'ALTER ROLE ALL SET default_transaction_read_only = on');
    const f = only(await check(server, app.db, app.role), 'error');
    expect(f.message).toContain('set by ALTER ROLE ALL SET default_transaction_read_only: Synapse fails');
    expect(await applyPrinted(server, 'postgres', f, AS_PASTED)).toEqual(['BEGIN READ WRITE;\nALTER ROLE ALL RESET default_transaction_read_only;\nCOMMIT;']);
    expect((await check(server, app.db, app.role)).status).toBe('ok');
  });

  it('set on the server\'s command line: error naming it, with the start command to change', async () => {
    const started = await startThrowawayServer({ server: specFor(major), settings: { default_transaction_read_only: 'on' } });
    try {
      const f = only(await check(started, 'postgres'), 'error');
      expect(f.message).toContain("set by the server's command line (postgres -c default_transaction_read_only=on): Synapse fails");
      expect(f.remediation).toEqual([{ kind: 'text', title: 'Change how the server is started', text: expect.stringContaining('pg_ctl -o') }]);
    } finally {
      await started.stop();
    }
    // The remedy, a server started without it, is what every other test here runs on.
    expect((await check(server, 'postgres')).status).toBe('ok');
  });
});

describe.each(sharedServers().map((s) => s.major))('server-role on a streaming standby of PostgreSQL %i', (major) => {
  const pair = streamingPair(major);
  const { basebackup, why } = pair;

  it.skipIf(!basebackup)(`a standby: error naming it and the primary it streams from; pointed at that primary, ok ${why}`, async () => {
    expect(await synapseFirstWrite(pair.standby(), 'postgres', 'postgres')).toBe(SYNAPSE_ERROR);
    const r = await check(pair.standby(), 'postgres');
    expect(r.status).toBe('error');
    const f = only(r, 'error');
    expect(f.message).toBe(
      `127.0.0.1:${pair.standby().port} (database "postgres") is a standby (pg_is_in_recovery() is true: a replica named by mistake, or the old primary after a failover): every transaction there is read-only, ` +
        `and Synapse fails at start-up on its first write (prepare_database runs CREATE TABLE IF NOT EXISTS: "${SYNAPSE_ERROR}"). It replicates from the socket ${pair.primary().socketDir}, port ${pair.primary().port}.`,
    );
    const sender = (f.details as { primary: { host: string; port: number } }).primary;
    expect(sender).toEqual({ host: pair.primary().socketDir, port: pair.primary().port });
    expect(f.remediation![0]!.text).toContain(`streams from the socket ${pair.primary().socketDir}, port ${pair.primary().port}`);

    // As the remediation says: the host and port of the server it streams from.
    const fixed = await check(sender, 'postgres');
    expect(fixed.status).toBe('ok');
    expect(fixed.message).toContain('is a primary (not in recovery)');
    expect(await synapseFirstWrite(sender, 'postgres', 'postgres')).toBe('written');
  });

  it.skipIf(!basebackup || !PSQL)(`a read-only role setting seen on the standby: both errors, the SQL to run on the primary; run there, it replicates ${why}${noPsql}`, async () => {
    const { role, db } = await roleAndDatabase(pair.primary());
    await sql(pair.primary(), 'postgres', `ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only = on`);
    const roleSetting = `EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = ${quoteLiteral(role)})`;
    await waitOnStandby(pair.standby(), 'postgres', roleSetting);
    const r = await check(pair.standby(), db, role);
    expect(r.findings.map((f) => f.status)).toEqual(['error', 'error']);
    expect(r.findings[0]!.message).toContain('is a standby (pg_is_in_recovery() is true');
    expect(r.findings[0]!.message).toContain('It replicates from a server that pg_stat_wal_receiver shows only to superusers and members of pg_read_all_stats.');
    const f = r.findings[1]!;
    expect(f.message).toContain(`set by ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only`);
    expect(f.remediation![0]!.title).toContain('on the primary (these settings replicate)');
    expect(await applyPrinted(pair.primary(), db, f, AS_PASTED)).not.toEqual([]);
    await waitOnStandby(pair.standby(), 'postgres', `NOT ${roleSetting}`);
    const after = await check(pair.standby(), db, role);
    expect(after.findings.map((x) => x.status)).toEqual(['error']);
    expect(after.message).toContain('is a standby');
  });

  it.skipIf(!basebackup)(`target_session_attrs=read-write names libpq's refusal ${why}`, async () => {
    const f = only(await check(pair.standby(), 'postgres', 'postgres', 'target_session_attrs=read-write'), 'error');
    expect(f.message).toContain('libpq with target_session_attrs=read-write refuses this server, so Synapse\'s connection to it fails');
  });

  it.skipIf(!basebackup).each(['standby', 'prefer-standby', 'read-only'])(`target_session_attrs=%s asks for a standby: info with the replay lag ${why}`, async (attrs) => {
    // A committed transaction to replay, so that its age is known.
    await sql(pair.primary(), 'postgres', `CREATE TABLE IF NOT EXISTS replayed (a text); INSERT INTO replayed VALUES (${quoteLiteral(attrs)})`);
    await waitOnStandby(pair.standby(), 'postgres', "to_regclass('replayed') IS NOT NULL");
    await waitOnStandby(pair.standby(), 'postgres', `EXISTS (SELECT 1 FROM replayed WHERE a = ${quoteLiteral(attrs)})`);

    const r = await check(pair.standby(), 'postgres', 'postgres', `target_session_attrs=${attrs}`);
    expect(r.status).toBe('info');
    const f = only(r, 'info');
    expect(f.message).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:${pair.standby().port} \\(database "postgres"\\) is a standby, as target_session_attrs=${attrs} asks: it replicates from the socket .*, port ${pair.primary().port}; WAL receiver streaming, the last replayed transaction committed \\d+ (s|min \\d+ s) ago \\(this grows while the primary is idle, too\\), \\d+(\\.\\d+)?(B|kB|MB) received but not yet replayed`),
    );
    expect(f.details).toMatchObject({ inRecovery: true, targetSessionAttrs: attrs, replay: { receiverStatus: 'streaming', lastReplayAgeSeconds: expect.any(Number), unreplayedBytes: expect.any(Number) } });
  });
});
