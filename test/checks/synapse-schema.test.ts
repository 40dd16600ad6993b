// synapse-schema: each refusal of prepare_database built in a real database, the printed fix
// applied, the check run again. The release facts are tested first, without a database.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareReleases,
  CURRENT_SYNAPSE,
  LAST_PATCH,
  releaseFacts,
  SYNAPSE_RELEASES,
  type SynapseRelease,
} from '../../src/synapse/releases.js';
import type { CheckOptions, CheckResult, Finding, Remediation } from '../../src/types.js';
import CHECK from '../../checks/synapse-schema.js';
import { runCheck as runCheckOnce } from '../../src/testing/index.js';
import { runCheck } from '../helpers/check.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { applyYaml, writeConfig } from '../helpers/pasted.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';

const ID = 'synapse-schema';

/** Every release tag the table claims to cover, from LAST_PATCH: 1.0.0 … CURRENT_SYNAPSE. */
function everyRelease(): string[] {
  return LAST_PATCH.flatMap((last, minor) => Array.from({ length: last + 1 }, (_, patch) => `1.${minor}.${patch}`));
}

/** The tag after `release` (next patch, else next minor's .0). */
function nextRelease(release: string): string {
  const [, minor, patch] = release.split('.').map(Number) as [number, number, number];
  return patch < LAST_PATCH[minor]! ? `1.${minor}.${patch + 1}` : `1.${minor + 1}.0`;
}

/** What is wrong with a table: rows out of order, gaps, overlaps, values that go backwards. */
function tableProblems(rows: readonly SynapseRelease[]): string[] {
  const problems: string[] = [];
  if (rows[0]?.first !== '1.0.0') problems.push(`the first row starts at ${rows[0]?.first}, not 1.0.0`);
  if (rows[rows.length - 1]?.last !== `1.${LAST_PATCH.length - 1}.${LAST_PATCH[LAST_PATCH.length - 1]}`) problems.push('the last row does not end at the newest tag');
  rows.forEach((row, i) => {
    if (compareReleases(row.first, row.last) > 0) problems.push(`${row.first}…${row.last} ends before it starts`);
    if (row.compat !== null && row.compat > row.schema) problems.push(`${row.first}: compat ${row.compat} above its schema ${row.schema}`);
    const prev = rows[i - 1];
    if (!prev) return;
    if (nextRelease(prev.last) !== row.first) problems.push(`${row.first} does not follow ${prev.last}`);
    if (row.schema < prev.schema) problems.push(`${row.first}: schema ${row.schema} below ${prev.schema}`);
    if ((row.compat ?? 0) < (prev.compat ?? 0)) problems.push(`${row.first}: compat goes down`);
    if ((row.pgMinimum ?? 0) < (prev.pgMinimum ?? 0)) problems.push(`${row.first}: PostgreSQL minimum goes down`);
    if (row.schema === prev.schema && row.compat === prev.compat && row.pgMinimum === prev.pgMinimum) problems.push(`${row.first}: same values as the row before`);
  });
  return problems;
}

describe('the Synapse release table', () => {
  it('rows follow each other tag by tag, with values that never go backwards', () => {
    expect(tableProblems(SYNAPSE_RELEASES)).toEqual([]);
    expect(CURRENT_SYNAPSE).toBe('1.157.1');
  });

  it('the order test fails on a table with two rows swapped, a gap or a value going down', () => {
    const swapped = [...SYNAPSE_RELEASES];
    [swapped[10], swapped[11]] = [swapped[11]!, swapped[10]!];
    expect(tableProblems(swapped).join('\n')).toContain('does not follow');
    expect(tableProblems(SYNAPSE_RELEASES.filter((_, i) => i !== 5)).join('\n')).toContain('1.32.0 does not follow 1.25.0');
    const lower = SYNAPSE_RELEASES.map((r) => (r.first === '1.52.0' ? { ...r, schema: 60 } : r));
    expect(tableProblems(lower).join('\n')).toContain('1.52.0: schema 60 below 67');
  });

  it('covers every release from 1.0.0 to the newest, each by exactly one row', () => {
    const releases = everyRelease();
    expect(releases).toHaveLength(236);
    for (const r of releases) {
      const covering = SYNAPSE_RELEASES.filter((row) => compareReleases(row.first, r) <= 0 && compareReleases(r, row.last) <= 0);
      expect(covering, r).toHaveLength(1);
      expect(releaseFacts(r), r).toBe(covering[0]);
    }
  });

  it('spot checks against Synapse: compat from 1.37.0, raised in the patch 1.105.1; PostgreSQL 14 from 1.143.0', () => {
    expect(releaseFacts('1.36.0')).toMatchObject({ schema: 59, compat: null });
    expect(releaseFacts('1.37.0')).toMatchObject({ schema: 59, compat: 59 });
    expect(releaseFacts('1.105.0')).toMatchObject({ schema: 84, compat: 83 });
    expect(releaseFacts('1.105.1')).toMatchObject({ schema: 84, compat: 84 });
    expect(releaseFacts('1.142.1')).toMatchObject({ schema: 92, pgMinimum: 13 });
    expect(releaseFacts('1.157.1')).toMatchObject({ schema: 94, compat: 84, pgMinimum: 14 });
    expect(releaseFacts('0.99.5')).toBeUndefined();
  });
});

interface Json {
  status: string;
  message: string;
  details: Record<string, unknown> | null;
  findings: Finding[];
  remediation: Remediation[];
}

function homeserver(server: SharedServer, db: string, extra = ''): string {
  return writeConfig(`server_name: old.example\n${extra}database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
}

/** The check on what a homeserver.yaml (and worker files) name, as the CLI hands them over. */
async function withConfig(config: string, opts: { workers?: string[]; synapseVersion?: string } = {}): Promise<CheckResult> {
  const options = opts.synapseVersion ? { synapseVersion: opts.synapseVersion } : {};
  // The database and server come from the config; runCheck's are not used for the connection.
  return (await runCheckOnce(CHECK, { host: '', port: 0 }, '', { configPaths: [config], workerConfigs: opts.workers, options })).result;
}

/** The command line itself, for what only it gives: the exit code. */
async function viaCli(config: string, extra: string[] = []): Promise<Json & { code: number }> {
  const r = await runCli(['--config', config, ...extra, '--only', ID, '--format', 'json']);
  expect(r.stderr).toBe('');
  const doc = JSON.parse(r.stdout);
  expect(doc.error).toBeUndefined();
  return { ...doc.results[0], code: r.code };
}

const WORKER = join(FIXTURES, 'config', 'worker.yaml');
const schemaWith = (version: number, compat?: number) =>
  [synapseSchemaSql(version), compat === undefined ? '' : fixtureSql('synapse-schema/compat.sql', { compat_version: compat })].join('\n');

describe('--synapse-version', () => {
  it('not a release number: one line, exit 2, before any connection', async () => {
    const r = await runCli(['--dsn', 'postgresql://nobody@127.0.0.1:1/x', '--synapse-version', 'latest', '--only', ID]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--synapse-version "latest" is not a Synapse release number such as 1.157.1');
  });
});

describe.each(sharedServers())('synapse-schema on PostgreSQL $major', (server) => {
  const check = (db: string, options: CheckOptions = {}): Promise<CheckResult> => runCheck(server, db, ID, { options });

  it('skipped on a database with no sign of Synapse, and nothing saying Synapse will start on it', async () => {
    const db = await createDatabase(server, 'ss_plain');
    const r = await check(db);
    expect(r.status).toBe('skipped');
    expect(r.message).toMatch(/^not a Synapse database/);
  });

  it('the schema of the release: ok, and without --synapse-version it says which release it assumed', async () => {
    const db = await createDatabase(server, 'ss_same', { setup: schemaWith(94, 84) });
    const r = await check(db);
    expect(r.status).toBe('ok');
    expect(r.message).toBe("Synapse 1.157.1 (the newest release pg-preflight knows; give --synapse-version for yours) can start on this database: schema_version 94 is its own");
  });

  it('too new: a compat version above the release\'s SCHEMA_VERSION is an error naming the oldest release that runs; that release passes', async () => {
    const db = await createDatabase(server, 'ss_too_new', { setup: schemaWith(94, 84) });
    const r = await check(db, { synapseVersion: '1.99.0' });
    expect(r.status).toBe('error');
    expect(r.message).toBe(
      'Synapse 1.99.0 cannot run on this database: it was upgraded by Synapse ≥ 1.151.0 (schema_version 94, compat 84); the oldest release that can run on it is 1.100.0. ' +
        'Synapse refuses to start with "Cannot use this database as it is too new for the server to understand" (its SCHEMA_VERSION 83 is below the database\'s compat version 84)',
    );
    expect(r.remediation[0]!.text).toContain("pip install 'matrix-synapse==1.100.0'");
    // The fix is the release it names: that one starts (a downgrade warning, no error) ...
    const suggested = r.details!.oldestRelease as string;
    const fixed = await check(db, { synapseVersion: suggested });
    expect(fixed.findings.map((f) => f.status)).toEqual(['warning']);
    // ... and the last release before it does not: it is the oldest.
    expect((await check(db, { synapseVersion: '1.99.0' })).status).toBe('error');
  });

  it('too new for a release before compat versions (1.36): any schema_version above its own is refused', async () => {
    const db = await createDatabase(server, 'ss_precompat', { setup: schemaWith(60, 59) });
    const r = await check(db, { synapseVersion: '1.36.0' });
    expect(r.status).toBe('error');
    expect(r.message).toContain('it was upgraded by Synapse ≥ 1.38.0 (schema_version 60, compat 59); the oldest release that can run on it is 1.37.0');
    expect(r.message).toContain('releases before 1.37.0 refuse any schema_version above their own SCHEMA_VERSION (59)');
    expect((await check(db, { synapseVersion: r.details!.oldestRelease as string })).status).toBe('warning');
  });

  it('a compat version no known release reaches: error, no release to suggest', async () => {
    const db = await createDatabase(server, 'ss_future', { setup: schemaWith(97, 95) });
    const r = await check(db);
    expect(r.status).toBe('error');
    expect(r.message).toContain('upgraded by a Synapse newer than 1.157.1, the newest pg-preflight knows (schema_version 97, compat 95); no release up to 1.157.1 can run on it');
    expect(r.details!.oldestRelease).toBeNull();
  });

  it('upgrade: info with the schema versions the main process applies, today\'s pending background updates, and who is shut out after', async () => {
    const db = await createDatabase(server, 'ss_upgrade', {
      setup: [schemaWith(80, 76), fixtureSql('synapse-background-updates/table.sql'), "INSERT INTO background_updates (update_name, progress_json) VALUES ('a', '{}'), ('b', '{}');"].join('\n'),
    });
    const r = await check(db, { synapseVersion: '1.157.1' });
    expect(r.status).toBe('info');
    expect(r.message).toBe(
      'Synapse 1.157.1 will upgrade the schema from 80 to 94 when it starts: 14 schema versions of deltas (81…94), run by the main process before it serves; ' +
        '2 background updates are pending today (see synapse-background-updates), and the deltas usually queue more. ' +
        'It sets schema_compat_version to 84: afterwards no release before 1.100.0 can start on this database',
    );
    expect(r.details).toMatchObject({ schemaVersionsToApply: 14, pendingBackgroundUpdates: 2 });
    // What the main process leaves behind once it has run.
    await sql(server, db, 'UPDATE schema_version SET version = 94; UPDATE schema_compat_version SET compat_version = 84; DELETE FROM background_updates');
    expect((await check(db, { synapseVersion: '1.157.1' })).status).toBe('ok');
  });

  it('downgrade within the compat range: a warning that the newer tables stay, pointing at sequence-drift', async () => {
    const db = await createDatabase(server, 'ss_downgrade', { setup: schemaWith(94, 84) });
    const r = await check(db, { synapseVersion: '1.120.0' });
    expect(r.status).toBe('warning');
    expect(r.message).toContain('Synapse 1.120.0 is older than this database, which was upgraded by Synapse ≥ 1.151.0 (schema_version 94, compat 84): the downgrade is allowed (compat 84 is not above 88)');
    expect(r.message).toContain('check them with sequence-drift');
    expect(r.remediation[0]!.text).toContain('pg-preflight check --only sequence-drift');
  });

  it('an empty database: info for the main process, which creates the schema', async () => {
    const db = await createDatabase(server, 'ss_empty');
    const r = await check(db, { synapseVersion: '1.157.1' });
    expect(r).toMatchObject({ status: 'info', message: "no Synapse schema yet (no schema_version row): Synapse 1.157.1's main process creates schema 94 when it first starts" });
  });

  it('a release newer than the table: the schema is not judged, and it says so', async () => {
    const db = await createDatabase(server, 'ss_unknown', { setup: schemaWith(94, 84) });
    const r = await check(db, { synapseVersion: '1.158.0' });
    expect(r.status).toBe('skipped');
    expect(r.message).toContain('Synapse 1.158.0 is not a release pg-preflight knows (1.0.0 to 1.157.1)');
  });

  it('a worker against an older schema: error, start the main process first; once it has, the worker passes', async () => {
    const db = await createDatabase(server, 'ss_worker', { setup: schemaWith(84, 83) });
    const config = homeserver(server, db);
    const r = await viaCli(config, ['--worker-config', WORKER, '--synapse-version', '1.157.1']);
    expect(r.status).toBe('error');
    expect(r.code).toBe(1);
    const worker = r.findings.find((f) => f.status === 'error')!;
    expect(worker.message).toBe(
      `worker generic_worker1 (${WORKER}) cannot start with Synapse 1.157.1: schema_version 84 is below its SCHEMA_VERSION 94; start the main process first. ` +
        'Synapse says "Expected database schema version 94 but got 84: run the main synapse process to upgrade the database schema before starting worker processes."',
    );
    // The main process alone is an upgrade, not an error.
    expect((await viaCli(config, ['--synapse-version', '1.157.1'])).status).toBe('info');
    // Following the fix: the main process upgraded the schema.
    await sql(server, db, 'UPDATE schema_version SET version = 94; UPDATE schema_compat_version SET compat_version = 84');
    const again = await viaCli(config, ['--worker-config', WORKER, '--synapse-version', '1.157.1']);
    expect(again).toMatchObject({ status: 'ok', code: 0 });
    expect(again.message).toContain('so can generic_worker1');
  });

  it('a worker as each release decides: 1.20 to 1.46 refuse any other schema_version, 1.47+ only an older one, before 1.20 none', async () => {
    const db = await createDatabase(server, 'ss_worker_eras', { setup: schemaWith(57) });
    const config = homeserver(server, db);
    // Schema 57 under 1.19.0 (58): the upgrade, and no worker refusal yet.
    expect((await withConfig(config, { workers: [WORKER], synapseVersion: '1.19.0' })).findings.map((f) => f.status)).toEqual(['info']);
    expect((await withConfig(config, { workers: [WORKER], synapseVersion: '1.20.0' })).findings.map((f) => f.status)).toEqual(['error', 'info']);
    await sql(server, db, 'UPDATE schema_version SET version = 65; CREATE TABLE schema_compat_version (lock char(1) NOT NULL DEFAULT \'X\' UNIQUE, compat_version integer NOT NULL); INSERT INTO schema_compat_version (compat_version) VALUES (60)');
    const older = await withConfig(config, { workers: [WORKER], synapseVersion: '1.44.0' });
    expect(older.findings.map((f) => f.status)).toEqual(['error', 'warning']);
    expect(older.findings[0]!.message).toContain('schema_version 65 is not its SCHEMA_VERSION 64');
    expect((await withConfig(config, { workers: [WORKER], synapseVersion: '1.46.0' })).status).toBe('ok');
    expect((await withConfig(config, { workers: [WORKER], synapseVersion: '1.45.0' })).status).toBe('error');
    // 1.47 kept SCHEMA_VERSION 65 and only refuses an older schema: a newer one is the main process's downgrade warning alone.
    await sql(server, db, 'UPDATE schema_version SET version = 66');
    expect((await withConfig(config, { workers: [WORKER], synapseVersion: '1.47.0' })).findings.map((f) => f.status)).toEqual(['warning']);
  });

  it('a worker on an empty database: error; a worker_app of synapse.app.homeserver is the main process', async () => {
    const db = await createDatabase(server, 'ss_worker_empty');
    const config = homeserver(server, db);
    const r = await withConfig(config, { workers: [WORKER] });
    expect(r.status).toBe('error');
    expect(r.message).toContain('the database is empty (no schema_version row); start the main process first. Synapse says "Uninitialised database: run the main synapse process');
    const mainApp = writeConfig('worker_app: synapse.app.homeserver\n', 'main.yaml');
    expect((await withConfig(config, { workers: [mainApp] })).status).toBe('info');
  });

  it('server_name changed: error naming both names; the printed server_name makes it pass', async () => {
    const db = await createDatabase(server, 'ss_name', { setup: [fixtureSql('synapse/schema.sql'), fixtureSql('synapse-schema/users.sql')].join('\n') });
    const config = applyYaml(homeserver(server, db), 'server_name: new.example');
    const r = await withConfig(config);
    expect(r.status).toBe('error');
    expect(r.message).toContain(
      'server_name changed: homeserver.yaml says new.example, but the users in this database are on old.example (@alice:old.example). ' +
        'Synapse refuses to start with "Found users in database not native to new.example! You cannot change a synapse server_name after it\'s been configured"',
    );
    const fix = r.remediation.find((s) => s.kind === 'config')!;
    expect(fix.text).toBe('server_name: "old.example"');
    const fixed = await withConfig(applyYaml(config, fix.text));
    expect(fixed.status).toBe('ok');
    expect(fixed.message).toContain('server_name old.example matches the users');
  });

  it('server_name as each release decides: 1.20+ looks at the first users row only, older releases at every row', async () => {
    const db = await createDatabase(server, 'ss_name_old', {
      setup: [fixtureSql('synapse/schema.sql'), fixtureSql('synapse-schema/users.sql'), fixtureSql('synapse-schema/foreign-user.sql'), 'UPDATE schema_version SET version = 58'].join('\n'),
    });
    const config = homeserver(server, db);
    expect((await withConfig(config, { synapseVersion: '1.25.0' })).status).toBe('ok');
    const old = await withConfig(config, { synapseVersion: '1.19.0' });
    expect(old.status).toBe('error');
    expect(old.message).toContain('the users in this database are on elsewhere.example (@mallory:elsewhere.example)');
    expect(old.message).toContain('You cannot changed a synapse server_name');
  });

  it('a server_name with a quote is compared as a literal, and a user id without ":" is Synapse\'s "Invalid ID"', async () => {
    const db = await createDatabase(server, 'ss_name_quote', { setup: [fixtureSql('synapse/schema.sql'), "INSERT INTO users (name) VALUES ('@o''neil:o''neil.example');", 'UPDATE schema_version SET version = 58'].join('\n') });
    const config = applyYaml(homeserver(server, db), `server_name: "o'neil.example"`);
    expect((await withConfig(config, { synapseVersion: '1.19.0' })).status).toBe('ok');
    expect((await withConfig(config, { synapseVersion: '1.25.0' })).status).toBe('ok');
    await sql(server, db, "DELETE FROM users; INSERT INTO users (name) VALUES ('admin')");
    const r = await withConfig(config, { synapseVersion: '1.25.0' });
    expect(r.status).toBe('error');
    expect(r.message).toContain('user admin in users has no ":"');
    await sql(server, db, 'DELETE FROM users');
    expect((await withConfig(config, { synapseVersion: '1.25.0' })).status).toBe('ok');
  });

  it('a role that may not read users: server_name is not compared, and it says why', async () => {
    const role = `ss_reader_${server.major}_${process.pid}`;
    const db = await createDatabase(server, 'ss_denied', {
      setup: [fixtureSql('synapse/schema.sql'), fixtureSql('synapse-schema/users.sql'), `CREATE ROLE ${role} LOGIN; GRANT SELECT ON schema_version TO ${role};`].join('\n'),
    });
    try {
      const config = applyYaml(homeserver(server, db), `database: {args: {user: ${role}}}\nserver_name: new.example`);
      const r = await withConfig(config);
      expect(r.findings.map((f) => f.status)).toEqual(['info']);
      expect(r.message).toBe(`server_name not compared with the users: ${role} may not read users (run pg-preflight as the database user Synapse uses)`);
    } finally {
      await sql(server, db, `DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
