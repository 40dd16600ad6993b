import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { sqliteSnapshotSource } from '../../src/sqlite/snapshot.js';
import { builtCli } from '../helpers/built-cli.js';
import { runCli } from '../helpers/cli.js';
import { fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { createDatabase, dsnFor, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import CHECK from '../../checks/sqlite-port/index.js';
import { runCheck } from '../../src/testing/index.js';

const ID = 'sqlite-port';

/** A directory holding homeserver.db built from the fixture with sql.js, and a config naming the database. */
async function homeserverDir(server: SharedServer, db: string, configName = 'homeserver-postgres.yaml'): Promise<{ dir: string; sqlite: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-port-'));
  const SQL = await initSqlJs();
  const lite = new SQL.Database();
  lite.exec(fixtureSql('sqlite-port/sqlite.sql'));
  const sqlite = join(dir, 'homeserver.db');
  writeFileSync(sqlite, lite.export());
  lite.close();
  const config = join(dir, configName);
  writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
  return { dir, sqlite, config };
}

const PORTED = () => [synapseSchemaSql(94), fixtureSql('sqlite-port/postgres.sql')].join('\n');

describe.each(sharedServers())('sqlite-port on PostgreSQL $major', (server) => {
  it('skipped, without a query, on a database that is not Synapse', async () => {
    const db = await createDatabase(server, 'port_plain');
    const { result, roundTrips } = await runCheck(CHECK, server, db);
    expect(result).toMatchObject({ status: 'skipped', message: 'not a Synapse database (no schema_version table)' });
    expect(roundTrips).toBe(1);
  });

  it('a Synapse database that was never ported: ok', async () => {
    const db = await createDatabase(server, 'port_never', { setup: synapseSchemaSql(94) });
    expect((await runCheck(CHECK, server, db)).result).toMatchObject({ status: 'ok', message: 'not ported from SQLite (no port_from_sqlite3 table)' });
  });

  it('a ported database is info, and says how to compare it with the SQLite file', async () => {
    const db = await createDatabase(server, 'port_info', { setup: PORTED() });
    const { result: r } = await runCheck(CHECK, server, db);
    expect(r.status).toBe('info');
    expect(r.message).toMatch(/^ported from SQLite by synapse_port_db \(port_from_sqlite3 records 4 tables\); .*--sqlite-database/);
  });

  it('a SQLite file ahead of the port: warning naming the tables short of rows and those not compared; the final phase makes it pass', async () => {
    const db = await createDatabase(server, 'port_behind', { setup: PORTED() });
    const { sqlite, config, dir } = await homeserverDir(server, db);
    const { result: r, roundTrips } = await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(sqlite) }, configPaths: [config] });
    expect(roundTrips).toBe(2); // one for the facts (schema_version included), one for every count
    expect(r.status).toBe('warning');
    expect(r.message).toBe(
      `1 of 3 tables have fewer rows in PostgreSQL than in ${sqlite}: the final synapse_port_db run (Synapse stopped) has not happened since those rows were written, or did not finish. ` +
        'events (SQLite 5, PostgreSQL 3); not compared, as the port skips or rebuilds them: event_search, sqlite_sequence, user_directory',
    );
    expect(r.details).toMatchObject({ notInPostgres: expect.arrayContaining(['only_in_sqlite', 'event_search_content']), portedTables: 4 });

    // The seed's phase 2, with this config's and this file's names.
    const shell = r.remediation.filter((s) => s.kind === 'shell').map((s) => s.text);
    expect(shell).toEqual([
      [
        'synctl stop',
        `synapse_port_db --sqlite-database ${sqlite} --postgres-config ${join(dir, 'homeserver-postgres.yaml')}`,
        `mv ${join(dir, 'homeserver.yaml')} ${join(dir, 'homeserver-old-sqlite.yaml')}`,
        `mv ${join(dir, 'homeserver-postgres.yaml')} ${join(dir, 'homeserver.yaml')}`,
        'synctl start',
      ].join('\n'),
    ]);
    expect(r.remediation[0]!.text).toMatch(/^Only while Synapse has not yet run on PostgreSQL/);

    // The final phase as the port does it: the rows past forward_rowid, and the new position.
    await sql(server, db, "INSERT INTO events VALUES (4, '$d'), (5, '$e'); UPDATE port_from_sqlite3 SET forward_rowid = 6 WHERE table_name = 'events'");
    const after = (await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(sqlite) }, configPaths: [config] })).result;
    expect(after.status).toBe('ok');
    expect(after.message).toBe(`all 3 tables compared have at least as many rows in PostgreSQL as in ${sqlite}; not compared, as the port skips or rebuilds them: event_search, sqlite_sequence, user_directory`);

    // Synapse has run on PostgreSQL since: more rows there is fine.
    await sql(server, db, "INSERT INTO users VALUES ('@dave:hs', 3)");
    expect((await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(sqlite) }, configPaths: [config] })).result.message).toContain('(1 have more: Synapse has written to PostgreSQL since, or the file is an older snapshot)');
  });

  it('a config not named like the seed\'s: the port command with the names as they are, shell-quoted', async () => {
    const db = await createDatabase(server, 'port_names', { setup: PORTED() });
    const { sqlite, config } = await homeserverDir(server, db, 'my config.yaml');
    const snapshot = `${sqlite}.snapshot`;
    writeFileSync(snapshot, (await import('node:fs')).readFileSync(sqlite));
    const { result: r } = await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(snapshot) }, configPaths: [config] });
    expect(r.status).toBe('warning');
    expect(r.remediation.filter((s) => s.kind === 'shell').map((s) => s.text)).toEqual([
      `synctl stop\nsynapse_port_db --sqlite-database ${sqlite} --postgres-config '${config}'\nsynctl start`,
    ]);
  });

  it('rows still in a -wal file beside the SQLite database: warning that the counts miss them', async () => {
    const db = await createDatabase(server, 'port_wal', { setup: PORTED() });
    const { sqlite } = await homeserverDir(server, db);
    await sql(server, db, "INSERT INTO events VALUES (4, '$d'), (5, '$e')");
    writeFileSync(`${sqlite}-wal`, Buffer.alloc(4096, 1));
    const { result: r } = await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(sqlite) } });
    expect(r.status).toBe('warning');
    expect(r.findings.map((f) => f.status)).toEqual(['warning', 'ok']);
    expect(r.findings[0]!.message).toBe(
      `${sqlite}-wal holds 4096 bytes not yet in ${sqlite}, which these counts do not see: Synapse is still running on it or was not shut down cleanly. Stop Synapse (the final phase needs it stopped anyway) and run pg-preflight again`,
    );
  });

  it('a SQLite file given for a database that was never ported: warning with both phases of the port', async () => {
    const db = await createDatabase(server, 'port_missing', { setup: synapseSchemaSql(94) });
    const { sqlite } = await homeserverDir(server, db);
    const { result: r } = await runCheck(CHECK, server, db, { inputs: { sqliteDatabase: sqliteSnapshotSource(sqlite) } });
    expect(r.status).toBe('warning');
    expect(r.message).toContain('has no port_from_sqlite3 table: synapse_port_db has not run against it');
    expect(r.remediation.map((s) => s.title ?? s.kind)).toEqual([
      'Create the role and a UTF8 / C-locale database (as the postgres OS user)',
      'Phase 1: port a snapshot while Synapse keeps running',
      'Phase 2: with Synapse stopped, port what came in since, then switch configs',
      'text',
    ]);
    expect(r.remediation[1]!.text).toContain(`synapse_port_db --sqlite-database ${sqlite}.snapshot --postgres-config homeserver-postgres.yaml`);
  });

  it('--sqlite-database through the CLI: a missing or non-SQLite file is a usage error (exit 2); a real one is compared', async () => {
    const db = await createDatabase(server, 'port_cli', { setup: PORTED() });
    const { sqlite, dir } = await homeserverDir(server, db);
    const missing = await runCli(['check', '--dsn', dsnFor(server, db), '--only', ID, '--sqlite-database', join(dir, 'nope.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stdout + missing.stderr).toContain(`--sqlite-database ${join(dir, 'nope.db')} cannot be read (ENOENT)`);
    const notSqlite = join(dir, 'homeserver-postgres.yaml');
    const wrong = await runCli(['check', '--dsn', dsnFor(server, db), '--only', ID, '--sqlite-database', notSqlite]);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout + wrong.stderr).toContain('is not a SQLite database');
    const run = await runCli(['check', '--dsn', dsnFor(server, db), '--only', ID, '--sqlite-database', sqlite, '--format', 'json']);
    expect(run.code).toBe(0); // a warning: exit 0 unless --fail-on warning
    expect(JSON.parse(run.stdout).results[0]).toMatchObject({ id: ID, status: 'warning' });
    // And the bin as installed: its bundle loads sql.js through the bin's import() (src/dynamic-import.ts).
    const bin = spawnSync(process.execPath, [builtCli(), 'check', '--dsn', dsnFor(server, db), '--only', ID, '--sqlite-database', sqlite, '--format', 'json'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    expect(bin.stderr).toBe('');
    expect(JSON.parse(bin.stdout).results[0]).toMatchObject({ id: ID, status: 'warning' });
  });

  it('skipped with the reason when the role may not read port_from_sqlite3', async () => {
    const role = `port_reader_${server.major}_${process.pid}`;
    const db = await createDatabase(server, 'port_denied', { setup: [PORTED(), `CREATE ROLE ${role} LOGIN; GRANT SELECT ON schema_version TO ${role};`].join('\n') });
    try {
      const { result: r } = await runCheck(CHECK, server, db, { user: role });
      expect(r).toMatchObject({ status: 'skipped', message: `${role} may not read port_from_sqlite3: run pg-preflight as the database user Synapse uses` });
    } finally {
      await sql(server, db, `DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
