// auth-hba on servers whose pg_hba.conf each case writes; every printed fix is applied (the line
// replaced or moved as the title says, the shell command run, the reload SQL executed) and the
// check run again.
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { CheckResult, Finding } from '../../src/types.js';
import { clientTools, runPasted } from '../helpers/shell.js';
import { hasSetsid, runPastedWithInput } from '../helpers/pasted.js';
import CHECK from '../../checks/auth-hba/index.js';
import { runCheckAt } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

const PASSWORD = 'hba-Check:pass#1';
const ADMIN_HBA = ['local all postgres trust', 'host all postgres 127.0.0.1/32 trust', ''].join('\n');
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

function only(r: CheckResult, pattern: RegExp): Finding {
  const found = r.findings.filter((f) => pattern.test(f.message));
  expect(found, JSON.stringify(r.findings, null, 2)).toHaveLength(1);
  return found[0]!;
}

/** Replaces line `n` (1-based) of the file with `text`. */
function replaceLine(file: string, n: number, text: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[n - 1] = text;
  writeFileSync(file, lines.join('\n'));
}

describe.each(matrixMajors())('auth-hba on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  const tcp = (user: string, password?: string, host = '127.0.0.1') =>
    `postgresql://${user}${password ? `:${encodeURIComponent(password)}` : ''}@${host}:${server.port}/postgres?sslmode=disable`;
  const socket = (user: string) => `postgresql://${user}@/postgres?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`;

  async function admin(sql: string): Promise<unknown[]> {
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  }

  /** The printed reload, executed; the postmaster re-reads the file asynchronously. */
  async function reloadAsPrinted(f: Finding): Promise<void> {
    const reload = f.remediation!.find((s) => s.kind === 'sql' && /Reload/.test(s.title ?? ''))!;
    await admin(reload.text);
    await new Promise((r) => setTimeout(r, 200));
  }

  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), hba: ADMIN_HBA, settings: { listen_addresses: '*' } });
    await admin(`SET password_encryption = 'scram-sha-256'; CREATE ROLE checker SUPERUSER LOGIN PASSWORD '${PASSWORD}'`);
    await admin(`SET password_encryption = 'md5'; CREATE ROLE md5admin SUPERUSER LOGIN PASSWORD '${PASSWORD}'`);
    await admin("CREATE ROLE plain LOGIN; CREATE ROLE root SUPERUSER LOGIN; CREATE ROLE synapse_user LOGIN");
  });
  afterAll(async () => server?.stop());

  it('a scram-sha-256 line: ok, and the finding names the line and the login', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    const r = (await runCheckAt(CHECK, tcp('checker', PASSWORD))).result;
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/matched line 3: "host all all 127\.0\.0\.1\/32 scram-sha-256"/);
    expect(r.details).toMatchObject({ line: 3, method: 'scram-sha-256', login: 'over TCP from 127.0.0.1 without encryption' });
  });

  it('IPv6, a +group and a wider network: matched as the server matches them', async () => {
    await admin('DO $$ BEGIN CREATE ROLE hba_admins; EXCEPTION WHEN duplicate_object THEN NULL; END $$; GRANT hba_admins TO checker');
    await server.writeHba(`${ADMIN_HBA}host all +nobody_group ::/0 reject\nhost postgres +hba_admins ::0/64 scram-sha-256\n`);
    const r = (await runCheckAt(CHECK, tcp('checker', PASSWORD, '[::1]'))).result;
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/over TCP from ::1 without encryption\) matched line 4: "host postgres \+hba_admins ::\/64 scram-sha-256"/);
  });

  it('without privilege: skipped, naming the grants; the printed GRANTs let it run', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 trust\n`);
    const r = (await runCheckAt(CHECK, tcp('plain'))).result;
    expect(r.status).toBe('skipped');
    expect(r.message).toMatch(/pg_read_all_settings is not enough/);
    await admin(r.remediation[0]!.text);
    const again = (await runCheckAt(CHECK, tcp('plain'))).result;
    // trust over loopback is reported, not flagged.
    expect(again.status).toBe('ok');
    expect(again.message).toMatch(/matched line 3: "host all all 127\.0\.0\.1\/32 trust": trust, so any local user/);
  });

  it('a line with a syntax error: error; the printed sed comments it out, the printed reload applies it', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scramm\n`);
    const r = (await runCheckAt(CHECK, socket('postgres'))).result;
    expect(r.status).toBe('error');
    const f = only(r, /invalid authentication method "scramm"/);
    expect(f.object).toBe(`${server.hbaFile}:3`);
    expect(f.message).toMatch(/refuse to start at its next restart/);
    if (!clientTools) return;
    const sed = f.remediation!.find((s) => s.kind === 'shell')!.text;
    expect(runPasted(sed).status).toBe(0);
    await reloadAsPrinted(f);
    expect(readFileSync(server.hbaFile, 'utf8')).toContain('# host all all 127.0.0.1/32 scramm');
    expect(((await runCheckAt(CHECK, socket('postgres'))).result).findings.some((x) => x.status === 'error')).toBe(false);
  });

  it('trust for a network range, even when this connection came over loopback: error, and the printed line replaces it', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 10.0.0.0/8 trust\n`);
    const r = (await runCheckAt(CHECK, tcp('postgres'))).result;
    expect(r.status).toBe('error');
    const f = only(r, /trusts a network address/);
    expect(f.message).toContain('10.0.0.0/8');
    const replacement = f.remediation!.find((s) => s.kind === 'config')!;
    expect(replacement.title).toMatch(/Replace line 3 of/);
    expect(replacement.text).toMatch(/^host\s+all\s+all\s+10\.0\.0\.0\/8\s+scram-sha-256$/);
    replaceLine(server.hbaFile, 3, replacement.text);
    await reloadAsPrinted(f);
    expect(((await runCheckAt(CHECK, tcp('postgres'))).result).status).not.toBe('error');
  });

  it.skipIf(!lanAddress || !clientTools || !hasSetsid)('trust matched from a non-local address: error; setting the password, replacing the line and reloading as printed fixes it', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 0.0.0.0/0 trust\n`);
    await admin('ALTER ROLE root PASSWORD NULL');
    const r = (await runCheckAt(CHECK, tcp('root', undefined, lanAddress))).result;
    expect(r.status).toBe('error');
    const f = only(r, /trust for a network address/);
    expect(f.object).toBe(`${server.hbaFile}:3`);
    const [setPassword, replacement] = [f.remediation!.find((s) => s.kind === 'shell')!, f.remediation!.find((s) => s.kind === 'config')!];
    // The role has no password yet: the first step gives it one (as SCRAM).
    expect(runPastedWithInput(setPassword.text, [PASSWORD, PASSWORD]).status).toBe(0);
    replaceLine(server.hbaFile, 3, replacement.text);
    await reloadAsPrinted(f);
    const again = (await runCheckAt(CHECK, tcp('root', PASSWORD, lanAddress))).result;
    expect(again.status).toBe('ok');
    expect(again.message).toMatch(/scram-sha-256/);
  });

  it.skipIf(!clientTools || !hasSetsid)('md5 (and an MD5-stored password): warning; storing it as SCRAM and switching the line as printed gives ok', async () => {
    await server.writeHba(`host all md5admin 127.0.0.1/32 md5\n${ADMIN_HBA}`);
    const r = (await runCheckAt(CHECK, tcp('md5admin', PASSWORD))).result;
    expect(r.status).toBe('warning');
    const f = only(r, /matched line 1.*md5.*PostgreSQL 18 deprecates MD5/);
    // PostgreSQL 14+ store new passwords as SCRAM: an MD5 one is then worth its own finding.
    expect(r.findings.some((x) => /password is stored as MD5/.test(x.message))).toBe(major >= 14);
    const steps = f.remediation!;
    expect(steps.map((s) => s.kind)).toEqual(['shell', 'config', 'sql']);
    expect(runPastedWithInput(steps[0]!.text, [PASSWORD, PASSWORD]).status).toBe(0);
    replaceLine(server.hbaFile, 1, steps[1]!.text);
    await reloadAsPrinted(f);
    const again = (await runCheckAt(CHECK, tcp('md5admin', PASSWORD))).result;
    expect(again.status).toBe('ok');
  });

  it('peer on the socket: info with the caveat about Synapse\'s OS user', async () => {
    // The test runs as root; a role of that name gets in by peer.
    await server.writeHba(`${ADMIN_HBA}local all root peer\n`);
    const r = (await runCheckAt(CHECK, socket('root'))).result;
    expect(r.status).toBe('info');
    expect(r.message).toMatch(/matched line 3: "local all root peer": peer, which admits only the OS user of the same name/);
  });

  it('a line below a broader one can never match: info; moving it above as printed makes it the matching line', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\nhost postgres checker 127.0.0.1/32 trust\n`);
    const r = (await runCheckAt(CHECK, tcp('checker', PASSWORD))).result;
    const f = only(r, /can never match/);
    expect(f.status).toBe('info');
    expect(f.message).toMatch(/line 4 "host postgres checker 127\.0\.0\.1\/32 trust" can never match: line 3 "host all all 127\.0\.0\.1\/32 scram-sha-256"/);
    const move = f.remediation!.find((s) => s.kind === 'config')!;
    expect(move.title).toMatch(/Move it above line 3/);
    const lines = readFileSync(server.hbaFile, 'utf8').split('\n');
    lines.splice(3, 1);
    lines.splice(2, 0, move.text);
    writeFileSync(server.hbaFile, lines.join('\n'));
    await reloadAsPrinted(f);
    const again = (await runCheckAt(CHECK, tcp('checker', PASSWORD))).result;
    expect(again.findings.some((x) => /can never match/.test(x.message))).toBe(false);
    expect(again.message).toMatch(/matched line 3: "host postgres checker 127\.0\.0\.1\/32 trust": trust/);
  });

  it('a file edited but not reloaded: warning (PostgreSQL 16+ know the method used; older ones see no admitting line)', async () => {
    await server.writeHba(`${ADMIN_HBA}host all all 127.0.0.1/32 scram-sha-256\n`);
    // Written without the reload: the server still runs on the rules above.
    writeFileSync(server.hbaFile, major >= 16 ? `${ADMIN_HBA}host all all 127.0.0.1/32 md5\n` : ADMIN_HBA);
    const r = (await runCheckAt(CHECK, tcp('checker', PASSWORD))).result;
    expect(r.status).toBe('warning');
    expect(r.findings.map((f) => f.message).join('\n')).toMatch(major >= 16 ? /logged this connection in with scram-sha-256, but the file on disk says md5/ : /no line of pg_hba.conf as it is on disk admits this connection/);
    await server.reload();
  });
});
