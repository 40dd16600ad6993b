import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayServer } from '../../src/throwaway/server.js';
import { runCheck } from '../helpers/check.js';
import { applyPrinted } from '../../src/testing/index.js';
import { createDatabase, dsnFor, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import { runCli } from '../helpers/cli.js';
import { clientTools, runPasted } from '../helpers/shell.js';
import type { CheckResult } from '../../src/types.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

function homeserverYaml(server: SharedServer, db: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-hs-'));
  const file = join(dir, 'homeserver.yaml');
  writeFileSync(file, `database:\n  name: psycopg2\n${extra}  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
  return file;
}

function steps(r: CheckResult, kind: string): string[] {
  return r.remediation.filter((s) => s.kind === kind).map((s) => s.text);
}

describe.each(sharedServers())('database-locale on PostgreSQL $major', (server) => {
  it('passes when COLLATE and CTYPE are C', async () => {
    const db = await createDatabase(server, 'loc_ok');
    const r = await runCheck(server, db, 'database-locale');
    expect(r.status).toBe('ok');
    expect(r.details).toMatchObject({ collate: 'C', ctype: 'C', provider: 'libc' });
  });

  it.each([
    ['C.UTF-8', 'C.UTF-8', /COLLATE is "C.UTF-8" and CTYPE is "C.UTF-8".*sorts by code point/],
    ['POSIX', 'POSIX', /same locale as C in PostgreSQL, but Synapse compares the name/],
    ['C', 'C.UTF-8', /^CTYPE is "C.UTF-8", not C/],
  ])('COLLATE %s / CTYPE %s is an error that says why Synapse refuses it; the in-place SQL fixes it', async (collate, ctype, why) => {
    const db = await createDatabase(server, 'loc_bad', { collate, ctype, setup: 'CREATE TABLE t (v text PRIMARY KEY); INSERT INTO t VALUES (\'a\'), (\'B\');' });
    // glibc's PostgreSQL stores POSIX as "C"; other platforms keep the name, as the catalog does here.
    if (collate === 'POSIX') await sql(server, 'postgres', `UPDATE pg_database SET datcollate = 'POSIX', datctype = 'POSIX' WHERE datname = '${db}'`);
    const r = await runCheck(server, db, 'database-locale');
    expect(r.status).toBe('error');
    expect(r.message).toMatch(why);
    expect(steps(r, 'shell')[0]).toContain('--locale=C --template=template0');
    expect(steps(r, 'config')).toEqual(['allow_unsafe_locale: true']);
    const [update, reindex] = steps(r, 'sql');
    expect(update).toMatch(/^UPDATE pg_database/);
    expect(reindex).toMatch(/^REINDEX DATABASE/);
    // Step 1 from another database, as its title says; step 2 in the database itself.
    await applyPrinted(server, db, r, { databaseOf: (step) => (step.text.startsWith('UPDATE pg_database') ? 'postgres' : undefined) });
    expect((await runCheck(server, db, 'database-locale')).status).toBe('ok');
  });

  it('lowercase "c" (Synapse issue #16915): glibc refuses the login; exit 3 with SQL that repairs it', async () => {
    const db = await createDatabase(server, 'loc_lower');
    // Only the catalog can hold this spelling here; some platforms accept it at CREATE DATABASE.
    await sql(server, 'postgres', `UPDATE pg_database SET datcollate = 'c' WHERE datname = '${db}'`);
    const run = await runCli(['check', '--dsn', dsnFor(server, db), '--format', 'json']);
    expect(run.code).toBe(3);
    const err = JSON.parse(run.stdout).error;
    expect(err.code).toBe('connect-locale');
    expect(err.message).toContain('LC_COLLATE "c"');
    const [update, reindex] = err.remediation.filter((s: { kind: string }) => s.kind === 'sql').map((s: { text: string }) => s.text);
    await sql(server, 'postgres', update);
    await sql(server, db, reindex);
    expect((await runCheck(server, db, 'database-locale')).status).toBe('ok');
  });

  it('allow_unsafe_locale: true in homeserver.yaml turns the error into a warning that names the risk', async () => {
    const db = await createDatabase(server, 'loc_unsafe', { collate: 'C.UTF-8', ctype: 'C.UTF-8' });
    const plain = await runCheck(server, db, 'database-locale', { configPaths: [homeserverYaml(server, db)] });
    expect(plain.status).toBe('error');
    // Apply the printed config remediation under database: and check again.
    const yamlLine = steps(plain, 'config')[0]!;
    const r = await runCheck(server, db, 'database-locale', { configPaths: [homeserverYaml(server, db, `  ${yamlLine}\n`)] });
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/allow_unsafe_locale is true.*corrupts/);
  });

  it.each([
    ['yes', /allow_unsafe_locale is true.*corrupts its indexes$/],
    ['On', /allow_unsafe_locale is true.*corrupts its indexes$/],
    ['"no"', /allow_unsafe_locale is true.*\(database\.allow_unsafe_locale is 'no' \(a str\), which Synapse reads as true, as Python's truth test does\)$/],
  ])('allow_unsafe_locale: %s is true to Synapse (YAML 1.1, Python truthiness): a warning, not an error', async (value, text) => {
    const db = await createDatabase(server, 'loc_yes', { collate: 'C.UTF-8', ctype: 'C.UTF-8' });
    const r = await runCheck(server, db, 'database-locale', { configPaths: [homeserverYaml(server, db, `  allow_unsafe_locale: ${value}\n`)] });
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(text);
  });

  it('allow_unsafe_locale: "" and 0 are false to Synapse: still the error', async () => {
    const db = await createDatabase(server, 'loc_no', { collate: 'C.UTF-8', ctype: 'C.UTF-8' });
    for (const value of ['""', '0', 'off']) {
      const r = await runCheck(server, db, 'database-locale', { configPaths: [homeserverYaml(server, db, `  allow_unsafe_locale: ${value}\n`)] });
      expect(r.status).toBe('error');
    }
  });

  it.skipIf(!clientTools || server.major > clientTools.major)('the dump/recreate shell steps make the check pass (skipped without client tools at least as new as the server)', async () => {
    const db = await createDatabase(server, 'loc_fix', { collate: 'C.UTF-8', ctype: 'C.UTF-8', setup: 'CREATE TABLE t (v text PRIMARY KEY); INSERT INTO t VALUES (\'x\');' });
    const r = await runCheck(server, db, 'database-locale');
    const run = runPasted(steps(r, 'shell')[0]!);
    expect(run.status, run.stderr).toBe(0);
    expect((await runCheck(server, db, 'database-locale')).status).toBe('ok');
    expect((await sql(server, db, 'SELECT v FROM t'))[0]!.rows).toEqual([{ v: 'x' }]);
  });
});

describe('locale providers (PostgreSQL 15+)', () => {
  const server = sharedServers().find((s) => s.major >= 17)!;

  it.each([
    ["LOCALE_PROVIDER icu ICU_LOCALE 'und'", 'icu', 'und'],
    ["LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8'", 'builtin', 'C.UTF-8'],
  ])('%s with COLLATE/CTYPE C passes as Synapse passes it, with the provider as info', async (extra, provider, locale) => {
    const db = await createDatabase(server, 'loc_prov', { extra });
    const r = await runCheck(server, db, 'database-locale');
    expect(r.status).toBe('info');
    expect(r.findings.map((f) => f.status)).toEqual(['ok', 'info']);
    expect(r.findings[0]!.details).toMatchObject({ provider, providerLocale: locale });
  });
});

// A language locale, built for the test with localedef (no system change: the server finds it
// through LOCPATH), on servers of their own.
const localedef = ['/usr/bin/localedef', '/usr/sbin/localedef'].find((p) => existsSync(p));
describe.skipIf(!localedef)('a language locale, en_US.UTF-8 (skipped without localedef)', () => {
  let locales: string;
  beforeAll(() => {
    locales = mkdtempSync(join(tmpdir(), 'pgpf-locales-'));
    const r = spawnSync(localedef!, ['-i', 'en_US', '-f', 'UTF-8', join(locales, 'en_US.utf8')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`localedef failed: ${r.stderr}`);
    // The server runs as an unprivileged user: it must be able to read the compiled locale.
    chmodSync(locales, 0o755);
  }, 60_000);
  afterAll(() => rmSync(locales, { recursive: true, force: true }));

  it.each(matrixMajors())('PostgreSQL %i: an error naming the library-upgrade risk; the printed in-place SQL fixes it', async (major) => {
    const server = await startThrowawayServer({ server: specFor(major), env: { LOCPATH: `${locales}:/usr/lib/locale` } });
    try {
      const shared = { spec: server.spec, name: server.name, major, version: server.version, host: server.host, port: server.port, socketDir: server.socketDir };
      const db = await createDatabase(shared, 'loc_en', { collate: 'en_US.UTF-8', ctype: 'en_US.UTF-8', setup: "CREATE TABLE t (v text PRIMARY KEY); INSERT INTO t VALUES ('a'), ('B'), ('c');" });
      const r = await runCheck(shared, db, 'database-locale');
      expect(r.status).toBe('error');
      expect(r.message).toMatch(/COLLATE is "en_US.UTF-8".*language rules, which change when the library is upgraded/);
      const [update, reindex] = steps(r, 'sql');
      expect(update).toMatch(/^UPDATE pg_database/);
      expect(reindex).toMatch(/^REINDEX DATABASE/);
      // Step 1 from another database, as its title says; step 2 in the database itself.
      await applyPrinted(shared, db, r, { databaseOf: (step) => (step.text.startsWith('UPDATE pg_database') ? 'postgres' : undefined) });
      expect((await runCheck(shared, db, 'database-locale')).status).toBe('ok');
      // Under C, upper case sorts first: the rebuilt index follows the new order.
      expect((await sql(shared, db, 'SELECT string_agg(v, \'\' ORDER BY v) AS s FROM t'))[0]!.rows[0].s).toBe('Bac');
    } finally {
      await server.stop();
    }
  });
});
