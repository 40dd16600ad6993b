import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import { runCheck } from '../helpers/check.js';
import { fixtureSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import { clientTools, runPasted } from '../helpers/shell.js';

const ROWS = fixtureSql('database-encoding/rows.sql');
const rowsOf = async (server: SharedServer, db: string) =>
  (await sql(server, db, "SET client_encoding = 'UTF8'; SELECT string_agg(room_id || '=' || name, ',' ORDER BY room_id) AS v FROM room_names"))[1]!.rows[0].v;

function shellStep(result: { remediation: { kind: string; text: string }[] }): string {
  const step = result.remediation.find((r) => r.kind === 'shell');
  if (!step) throw new Error('no shell remediation');
  return step.text;
}

describe.each(sharedServers())('database-encoding on PostgreSQL $major', (server) => {
  it('passes on a UTF8 database', async () => {
    const db = await createDatabase(server, 'enc_ok');
    const r = await runCheck(server, db, 'database-encoding');
    expect(r.status).toBe('ok');
  });

  it.each(['SQL_ASCII', 'LATIN1'])('fails on %s with the dump/recreate/restore steps, named for this database', async (encoding) => {
    const db = await createDatabase(server, `enc_${encoding}`, { encoding, setup: ROWS });
    const r = await runCheck(server, db, 'database-encoding');
    expect(r.status).toBe('error');
    expect(r.message).toContain(encoding);
    expect(r.details).toMatchObject({ encoding });
    const script = shellStep(r);
    expect(script).toContain(`pg_dump -h ${server.host} -p ${server.port} -U postgres -Fc -f ${db}.dump ${db}`);
    expect(script).toContain(`--encoding=UTF8 --locale=C --template=template0 --owner=postgres ${db}_new`);
  });
});

// The remediation is executed with Debian's client tools against servers they can dump: the
// shared PostgreSQL 10 and Debian's own 15. pg_dump refuses servers newer than itself, so for 18
// the steps that do not need pg_dump are executed and pg_dump's refusal is asserted.
describe.skipIf(!clientTools)('database-encoding remediation, executed', () => {
  let pg15: ThrowawayServer | undefined;
  beforeAll(async () => {
    // Debian's server comes with the client tools; where it exists it must start.
    if (existsSync('/usr/lib/postgresql/15/bin/postgres')) pg15 = await startThrowawayServer({ major: 15 });
  });
  afterAll(async () => pg15?.stop());

  const dumpable = () => [sharedServers().find((s) => s.major === 10)!, ...(pg15 ? [{ ...pg15, socketDir: pg15.socketDir }] : [])];

  it.each(['SQL_ASCII', 'LATIN1'])('%s: the pasted script makes the check pass and keeps every row', async (encoding) => {
    for (const server of dumpable()) {
      const db = await createDatabase(server as SharedServer, `encfix_${encoding}`, { encoding, setup: ROWS });
      const before = await rowsOf(server as SharedServer, db);
      const r = await runCheck(server as SharedServer, db, 'database-encoding');
      const run = runPasted(shellStep(r));
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect((await runCheck(server as SharedServer, db, 'database-encoding')).status).toBe('ok');
      expect((await runCheck(server as SharedServer, db, 'database-locale')).status).toBe('ok');
      expect(await rowsOf(server as SharedServer, db)).toBe(before);
      expect(before).toContain('café');
    }
  });

  it('PostgreSQL 18: createdb and the rename run as printed; pg_dump 15 refuses the newer server, as the advice warns', async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    const db = await createDatabase(server, 'encfix18', { encoding: 'SQL_ASCII', setup: ROWS });
    const script = shellStep(await runCheck(server, db, 'database-encoding'));
    const lines = script.split('\n');
    const dump = runPasted(lines.find((l) => l.startsWith('pg_dump'))!);
    expect(dump.status).not.toBe(0);
    expect(dump.stderr).toMatch(/server version mismatch/);
    const rest = runPasted(lines.filter((l) => l.startsWith('createdb') || l.startsWith('psql')).join('\n'));
    expect(rest.status).toBe(0);
    expect((await runCheck(server, db, 'database-encoding')).status).toBe('ok');
  });
});
