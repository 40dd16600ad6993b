import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../helpers/check.js';
import { synapseSchemaSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import { clientTools, runPasted } from '../helpers/shell.js';
import { pgMinimumForRelease, releaseForSchema } from '../../checks/server-version/releases.js';

const pg10 = () => sharedServers().find((s) => s.major === 10)!;
const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const TODAY = { now: new Date('2026-11-24T00:00:00Z') };

function configFor(server: SharedServer, db: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgpf-hs-')), 'homeserver.yaml');
  writeFileSync(file, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
  return file;
}

describe('Synapse release facts', () => {
  it('maps schema versions and releases to the PostgreSQL minimum Synapse enforces', () => {
    expect(releaseForSchema(94)).toBe('1.151.0');
    expect(releaseForSchema(90)).toBe('1.124.0');
    expect(releaseForSchema(70)).toBe('1.60.0');
    expect(pgMinimumForRelease('1.157.1')).toBe(14);
    expect(pgMinimumForRelease('1.142.9')).toBe(13);
    expect(pgMinimumForRelease('v1.100.0')).toBe(11);
    expect(pgMinimumForRelease('1.51.0')).toBe(9.6);
  });
});

describe('server-version', () => {
  it('PostgreSQL 18 with a current Synapse schema: ok, naming the rule', async () => {
    const db = await createDatabase(pg18(), 'ver_ok', { setup: synapseSchemaSql(94) });
    const r = await runCheck(pg18(), db, 'server-version', { options: TODAY });
    expect(r.status).toBe('ok');
    expect(r.message).toContain('schema_version 94 means Synapse 1.151.0 or later');
  });

  it('PostgreSQL 10 under a database that Synapse 1.151+ used: error (Synapse requires 14), plus end of life', async () => {
    const db = await createDatabase(pg10(), 'ver_new_schema', { setup: synapseSchemaSql(94) });
    const r = await runCheck(pg10(), db, 'server-version', { options: TODAY });
    expect(r.status).toBe('error');
    expect(r.findings.map((f) => f.status)).toEqual(['error', 'warning']);
    expect(r.findings[0]!.message).toMatch(/too old: schema_version 94 .* requires PostgreSQL 14/);
    expect(r.findings[1]!.message).toContain('end of life on 2022-11-10');
  });

  it('PostgreSQL 10 under an old schema (70, Synapse 1.60): the version is enough for it, but past end of life', async () => {
    const db = await createDatabase(pg10(), 'ver_old_schema', { setup: synapseSchemaSql(70) });
    const r = await runCheck(pg10(), db, 'server-version', { options: TODAY });
    expect(r.status).toBe('warning');
    expect(r.findings).toHaveLength(1);
  });

  it('--synapse-version decides when given', async () => {
    const db = await createDatabase(pg10(), 'ver_flag');
    const r = await runCheck(pg10(), db, 'server-version', { options: { ...TODAY, synapseVersion: '1.100.0' } });
    expect(r.status).toBe('error');
    expect(r.findings[0]!.message).toContain('Synapse 1.100.0 (--synapse-version) requires PostgreSQL 11');
  });

  it('with no sign of Synapse the current Synapse minimum is a warning; with a homeserver.yaml it is an error', async () => {
    const db = await createDatabase(pg10(), 'ver_plain');
    const plain = await runCheck(pg10(), db, 'server-version', { options: TODAY });
    expect(plain.status).toBe('warning');
    expect(plain.findings[0]!.message).toContain('no Synapse database detected');
    const withConfig = await runCheck(pg10(), db, 'server-version', { configPaths: [configFor(pg10(), db)], options: TODAY });
    expect(withConfig.status).toBe('error');
    expect(withConfig.findings[0]!.message).toContain('current Synapse (1.157.1) requires PostgreSQL 14');
  });

  // The printed dump-and-restore route, executed: from the PostgreSQL 10 server into the 18 one.
  it.skipIf(!clientTools)('the dump and restore steps move the database to a new server, where the check passes', async () => {
    const db = await createDatabase(pg10(), 'ver_move', { setup: `${synapseSchemaSql(94)}; CREATE TABLE events (stream_ordering bigint PRIMARY KEY); INSERT INTO events SELECT generate_series(1, 50);` });
    const r = await runCheck(pg10(), db, 'server-version', { options: TODAY });
    const script = r.remediation.find((s) => s.kind === 'shell')!.text;
    // The lines after the comment run "against the new server": PGHOST/PGPORT point there.
    const run = runPasted(script, { PGHOST: pg18().host, PGPORT: String(pg18().port), PGUSER: 'postgres' });
    expect(run.status, run.stderr).toBe(0);
    const moved = await runCheck(pg18(), db, 'server-version', { options: TODAY });
    expect(moved.status).toBe('ok');
    expect((await sql(pg18(), db, 'SELECT count(*)::int AS n FROM events'))[0]!.rows[0].n).toBe(50);
  });
});
