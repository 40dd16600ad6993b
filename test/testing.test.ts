// pg-preflight/testing itself: what the harness adds over pasting by hand must hold, on both ways
// of pasting (psql when installed, node-postgres without).
import { describe, expect, it } from 'vitest';
import { applyPrinted, psqlPath } from '../src/testing/index.js';
import { createDatabase, sharedServers, sql } from './helpers/servers.js';

const NOTICE = { remediation: [{ kind: 'sql' as const, text: 'DROP TABLE IF EXISTS never_there;' }] };
const ways = [
  { name: 'psql', withoutPsql: false, skip: !psqlPath() },
  { name: 'node-postgres', withoutPsql: true, skip: false },
];

describe.each(sharedServers())('applyPrinted on PostgreSQL $major', (server) => {
  for (const way of ways) {
    it.skipIf(way.skip)(`${way.name}: a NOTICE passes, unless silent asks for nothing on stderr${way.skip ? ' (skipped: psql not installed)' : ''}`, async () => {
      const db = await createDatabase(server, 'tst_notice');
      expect(await applyPrinted(server, db, NOTICE, { withoutPsql: way.withoutPsql })).toEqual(['DROP TABLE IF EXISTS never_there;']);
      await expect(applyPrinted(server, db, NOTICE, { withoutPsql: way.withoutPsql, silent: true })).rejects.toThrow(/never_there/);
    });
  }

  it('a finding without remediation applies nothing; a finding\'s steps run in order', async () => {
    const db = await createDatabase(server, 'tst_finding');
    expect(await applyPrinted(server, db, { remediation: undefined })).toEqual([]);
    const finding = { remediation: [{ kind: 'sql' as const, text: 'CREATE TABLE t (a int);' }, { kind: 'text' as const, text: 'not run' }, { kind: 'sql' as const, text: 'INSERT INTO t VALUES (1);' }] };
    expect(await applyPrinted(server, db, finding, { silent: true })).toEqual(['CREATE TABLE t (a int);', 'INSERT INTO t VALUES (1);']);
    const [r] = await sql(server, db, 'SELECT count(*)::int AS n FROM t');
    expect(r!.rows[0].n).toBe(1);
  });
});
