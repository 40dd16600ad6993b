// Several hosts in one connection string, tried as libpq tries them: real servers, a real
// streaming standby (pg_basebackup -R) where the client tools can build one, and ports where
// nothing listens.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTargets } from '../src/config/resolve.js';
import type { HostSlot } from '../src/config/target.js';
import { hostOrder } from '../src/multi-host.js';
import { quoteIdent } from '../src/quote.js';
import { allChecks, selectChecks } from '../src/registry.js';
import { runChecks, type TargetReport } from '../src/runner.js';
import { freePort, type ThrowawayServer } from '../src/throwaway/server.js';
import { runCli } from './helpers/cli.js';
import { specFor } from './helpers/matrix.js';
import { startPasswordServer } from './helpers/password-server.js';
import { sharedServers, sql, uniqueName, type SharedServer } from './helpers/servers.js';
import { streamingPair } from './helpers/standby.js';

type Server = { host: string; port: number };
const noEnv = { HOME: '/nonexistent' };

function hostList(servers: Server[], extra = '', database = 'postgres', user = 'postgres'): string {
  return `host=${servers.map((s) => s.host).join(',')} port=${servers.map((s) => s.port).join(',')} dbname=${database} user=${user} ${extra}`.trim();
}

/** server-role on the target, so that the report also shows which server the checks looked at. */
async function checkRole(dsn: string, connectTimeoutMs = 5_000): Promise<TargetReport> {
  const { targets } = resolveTargets({ dsn, env: noEnv });
  const report = await runChecks({ targets, checks: selectChecks(allChecks(), ['server-role']), limits: { connectTimeoutMs } });
  return report.targets[0]!;
}

function connected(t: TargetReport): TargetReport & { connectedTo: NonNullable<TargetReport['connectedTo']> } {
  if (t.error) throw t.error;
  expect(t.connectedTo).toBeDefined();
  return t as TargetReport & { connectedTo: NonNullable<TargetReport['connectedTo']> };
}

/** Nothing listens there: a port the kernel just handed out and took back. */
async function deadHost(): Promise<Server> {
  return { host: '127.0.0.1', port: await freePort() };
}

describe('load_balance_hosts', () => {
  const slots: HostSlot[] = ['a', 'b', 'c'].map((host) => ({ host, port: 5432 }));
  const names = (order: HostSlot[]) => order.map((s) => s.host).join('');

  it('disable (and unset) keeps the order given', () => {
    expect(names(hostOrder(slots, undefined, () => 0))).toBe('abc');
    expect(names(hostOrder(slots, 'disable', () => 0))).toBe('abc');
  });

  it("random: libpq's inside-out Fisher-Yates, so every order can come out, each from one draw of the random numbers", () => {
    const seen = new Set<string>();
    // Draws for i = 1 (j in 0..1) and i = 2 (j in 0..2).
    for (const r1 of [0, 0.75]) {
      for (const r2 of [0, 0.5, 0.9]) {
        const draws = [r1, r2];
        seen.add(names(hostOrder(slots, 'random', () => draws.shift()!)));
      }
    }
    expect([...seen].sort()).toEqual(['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
    expect(names(slots)).toBe('abc');
  });
});

describe.each(sharedServers())('several hosts, PostgreSQL $major', (server) => {
  it('a first host with nothing listening is passed over with "connection refused"; the checks run on the second', async () => {
    const dead = await deadHost();
    const t = connected(await checkRole(hostList([dead, server])));
    expect(t.connectedTo).toEqual({ host: server.host, port: server.port, why: 'the first host that accepted the connection' });
    expect(t.passedOver).toEqual([{ host: dead.host, port: dead.port, code: 'connect-refused', reason: 'connection refused: nothing listens there' }]);
    // The check names the server it looked at, not the first of the list.
    expect(t.results[0]!.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${server.port} \\(database "postgres"\\) is a primary`));
    expect(t.facts?.version.startsWith(server.version)).toBe(true);
  });

  it('every host failing: one exit-3 error naming each host and its failure, with the diagnosis and its fix', async () => {
    const [a, b] = [await deadHost(), await deadHost()];
    const t = await checkRole(hostList([a, b]));
    expect(t.error?.exitCode).toBe(3);
    // The code of the diagnosis, so that --wait still waits for servers that are not up yet.
    expect(t.error?.code).toBe('connect-refused');
    expect(t.error?.message).toBe(
      `none of the 2 hosts would do (tried in order, as libpq does): 127.0.0.1:${a.port}: connection refused: nothing listens there; 127.0.0.1:${b.port}: connection refused: nothing listens there. ` +
        `The fix below is for the most telling of these: nothing accepts connections at 127.0.0.1:${a.port}: PostgreSQL is not running there, listens on another port, or does not listen on this address`,
    );
    expect(t.error?.remediation[0]?.text).toContain(`The port here is ${a.port}.`);
    expect(t.error?.details?.hosts).toEqual([
      { host: '127.0.0.1', port: a.port, code: 'connect-refused', reason: 'connection refused: nothing listens there' },
      { host: '127.0.0.1', port: b.port, code: 'connect-refused', reason: 'connection refused: nothing listens there' },
    ]);

    const cli = await runCli(['check', '--dsn', hostList([a, b]), '--only', 'server-role']);
    expect(cli.code).toBe(3);
    expect(cli.stdout).toContain(`Database master: "postgres" at 127.0.0.1:${a.port}, 127.0.0.1:${b.port} as postgres`);
    expect(cli.stdout + cli.stderr).toContain(`127.0.0.1:${a.port}: connection refused`);
    expect(cli.stdout + cli.stderr).toContain(`127.0.0.1:${b.port}: connection refused`);
    const json = JSON.parse((await runCli(['check', '--dsn', hostList([a, b]), '--only', 'server-role', '--format', 'json'])).stdout);
    expect(json.target).toMatchObject({ hosts: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }], connectedTo: null });
    expect(json.target.passedOver.map((p: { port: number }) => p.port)).toEqual([a.port, b.port]);
    expect(json.error.code).toBe('connect-refused');
  });

  it('a first host that accepts TCP and never answers is passed over once the connect timeout runs out: it counts per host', async () => {
    const silent = net.createServer((socket) => sockets.push(socket));
    const sockets: net.Socket[] = [];
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t = connected(await checkRole(hostList([{ host: '127.0.0.1', port }, server]), 1_000));
      expect(t.connectedTo).toMatchObject({ port: server.port });
      expect(t.passedOver).toEqual([
        { host: '127.0.0.1', port, code: 'connect-timeout', reason: 'no answer within 1 s (the connect timeout, which counts per host as in libpq)' },
      ]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('the URI form postgresql://h1:p1,h2:p2/db', async () => {
    const dead = await deadHost();
    const t = connected(await checkRole(`postgresql://postgres@127.0.0.1:${dead.port},127.0.0.1:${server.port}/postgres`));
    expect(t.connectedTo).toMatchObject({ host: '127.0.0.1', port: server.port });
    expect(t.passedOver?.map((p) => p.port)).toEqual([dead.port]);
  });

  it('homeserver.yaml args as psycopg2 passes them (host: "h1,h2", port: "p1,p2", target_session_attrs: read-write); the text and JSON reports say which host and why', async () => {
    const dead = await deadHost();
    const config = join(mkdtempSync(join(tmpdir(), 'pgpf-multihost-')), 'homeserver.yaml');
    writeFileSync(
      config,
      `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: postgres\n    host: "127.0.0.1,127.0.0.1"\n    port: "${dead.port},${server.port}"\n    target_session_attrs: read-write\n`,
    );
    const { targets } = resolveTargets({ configPaths: [config], env: noEnv });
    const report = await runChecks({ targets, checks: selectChecks(allChecks(), ['server-role']) });
    const t = connected(report.targets[0]!);
    expect(t.connectedTo).toEqual({ host: '127.0.0.1', port: server.port, why: 'the first host whose sessions are read-write (target_session_attrs=read-write)' });
    expect(t.passedOver).toEqual([{ host: '127.0.0.1', port: dead.port, code: 'connect-refused', reason: 'connection refused: nothing listens there' }]);
    expect(t.results[0]!.status).toBe('ok');

    const text = await runCli(['check', '--config', config, '--only', 'server-role']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    // Debian's server adds its package version ("15.18 (Debian 15.18-0+deb12u1)").
    expect(lines.filter((l) => l.startsWith(`Database master: "postgres" at 127.0.0.1:${server.port} as postgres, PostgreSQL ${server.version}`))).toHaveLength(1);
    expect(lines).toContain(`  127.0.0.1:${server.port} of 127.0.0.1:${dead.port}, 127.0.0.1:${server.port}: the first host whose sessions are read-write (target_session_attrs=read-write)`);
    expect(lines).toContain(`  passed over 127.0.0.1:${dead.port}: connection refused: nothing listens there`);

    const json = JSON.parse((await runCli(['check', '--config', config, '--only', 'server-role', '--format', 'json'])).stdout);
    expect(json.target).toMatchObject({
      hosts: [{ host: '127.0.0.1', port: dead.port }, { host: '127.0.0.1', port: server.port }],
      connectedTo: { host: '127.0.0.1', port: server.port },
      passedOver: [{ host: '127.0.0.1', port: dead.port, code: 'connect-refused' }],
    });
    const junit = (await runCli(['check', '--config', config, '--only', 'server-role', '--format', 'junit'])).stdout;
    expect(junit).toContain(`<property name="port" value="${server.port}"/>`);
    expect(junit).toContain(`<property name="passed_over" value="127.0.0.1:${dead.port} (connection refused: nothing listens there)"/>`);
    const html = (await runCli(['check', '--config', config, '--only', 'server-role', '--format', 'html'])).stdout;
    expect(html).toContain(`<dt>passed over</dt><dd>127.0.0.1:${dead.port}: connection refused: nothing listens there</dd>`);
  });
});

// Two servers where only one gives the role read-only sessions: target_session_attrs without a
// standby, on each server (ParameterStatus from 14, a query before).
describe.each(sharedServers())('target_session_attrs read-write / read-only by default_transaction_read_only, PostgreSQL $major first', (server) => {
  const servers = sharedServers();
  const other: SharedServer = servers[(servers.indexOf(servers.find((s) => s.port === server.port)!) + 1) % servers.length]!;
  let role: string;
  beforeAll(async () => {
    role = uniqueName('rohost');
    for (const s of [server, other]) await sql(s, 'postgres', `CREATE ROLE ${quoteIdent(role)} LOGIN`);
    await sql(server, 'postgres', `ALTER ROLE ${quoteIdent(role)} SET default_transaction_read_only = on`);
  });

  it.skipIf(servers.length < 2)('read-write passes over the host whose sessions start read-only', async () => {
    const t = connected(await checkRole(hostList([server, other], 'target_session_attrs=read-write', 'postgres', role)));
    expect(t.connectedTo).toMatchObject({ port: other.port });
    expect(t.passedOver).toEqual([
      {
        host: '127.0.0.1',
        port: server.port,
        code: 'host-read-only',
        reason: 'read-only: its sessions start read-only (default_transaction_read_only is on); libpq says "session is read-only"',
      },
    ]);
    expect(t.results[0]!.status).toBe('ok');
  });

  it.skipIf(servers.length < 2)('read-only takes that host; the other order passes over the read-write one first', async () => {
    const first = connected(await checkRole(hostList([server, other], 'target_session_attrs=read-only', 'postgres', role)));
    expect(first.connectedTo).toMatchObject({ port: server.port });
    expect(first.passedOver).toEqual([]);
    const second = connected(await checkRole(hostList([other, server], 'target_session_attrs=read-only', 'postgres', role)));
    expect(second.connectedTo).toMatchObject({ port: server.port });
    expect(second.passedOver).toEqual([
      { host: '127.0.0.1', port: other.port, code: 'host-not-read-only', reason: 'read-write (a primary whose sessions are not read-only); libpq says "session is not read-only"' },
    ]);
    // server-role on the chosen host: its sessions are read-only, as asked.
    expect(second.results[0]!.status).toBe('info');
  });

  it.skipIf(servers.length < 2)('--wait waits while no host is of the kind asked for (as during a failover) and checks the first that becomes one', async () => {
    const everywhere = uniqueName('rowait');
    for (const s of [server, other]) await sql(s, 'postgres', `CREATE ROLE ${quoteIdent(everywhere)} LOGIN; ALTER ROLE ${quoteIdent(everywhere)} SET default_transaction_read_only = on`);
    const dsn = hostList([server, other], 'target_session_attrs=read-write', 'postgres', everywhere);
    const once = await runCli(['check', '--dsn', dsn, '--only', 'server-role', '--format', 'json']);
    expect(once.code).toBe(3);
    expect(JSON.parse(once.stdout).error.code).toBe('connect-no-suitable-host');
    // The other host becomes read-write for the role while the check waits: a promotion, as it were.
    const promoted = new Promise((r) => setTimeout(r, 1_500)).then(() => sql(other, 'postgres', `ALTER ROLE ${quoteIdent(everywhere)} RESET default_transaction_read_only`));
    const waited = await runCli(['check', '--dsn', dsn, '--only', 'server-role', '--format', 'json', '--wait', '20', '--wait-interval', '0.5']);
    await promoted;
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(/^pg-preflight: waiting for master: none of the 2 hosts would do \(tried in order, as libpq does, for target_session_attrs=read-write\)/m);
    expect(waited.stderr).toMatch(/accepted the login after/);
    expect(JSON.parse(waited.stdout).target.connectedTo).toMatchObject({ port: other.port });
  }, 30_000);

  it.skipIf(servers.length < 2)('load_balance_hosts=random: whichever order comes out, read-write ends on the read-write host', async () => {
    for (let i = 0; i < 4; i++) {
      const t = connected(await checkRole(hostList([server, other], 'target_session_attrs=read-write load_balance_hosts=random', 'postgres', role)));
      expect(t.connectedTo).toMatchObject({ port: other.port });
      expect(t.passedOver!.every((p) => p.port === server.port && p.code === 'host-read-only')).toBe(true);
    }
  });
});

describe('a failure libpq does not pass over', () => {
  let pw: ThrowawayServer;
  beforeAll(async () => {
    pw = await startPasswordServer({ role: 'app', password: 'right-one', database: 'appdb' });
  });
  afterAll(async () => pw?.stop());

  it('a wrong password ends the attempt there: that host\'s diagnosis, the hosts before it, the ones not tried; no password in it', async () => {
    const dead = await deadHost();
    const next = sharedServers()[0]!;
    const t = await checkRole(hostList([dead, pw, next], 'password=wrong-one', 'appdb', 'app'));
    expect(t.connectedTo).toBeUndefined();
    expect(t.error?.exitCode).toBe(3);
    expect(t.error?.code).toBe('auth-password');
    expect(t.error?.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${pw.port} \\(host 2 of 3\\) failed, and after such a failure libpq tries no further host: `));
    expect(t.error?.message).toContain(`Passed over before it: 127.0.0.1:${dead.port}: connection refused: nothing listens there`);
    expect(t.error?.message).toContain(`Not tried: 127.0.0.1:${next.port}`);
    expect(t.error?.message).not.toContain('wrong-one');
    // The remediation is the password diagnosis's own, for that host.
    expect(JSON.stringify(t.error?.remediation)).toContain(`-p ${pw.port}`);
  });
});

describe.each(sharedServers().map((s) => s.major))('several hosts with a streaming standby of PostgreSQL %i', (major) => {
  const pair = streamingPair(major);
  const { basebackup, why } = pair;

  it.skipIf(!basebackup)(`host=standby,primary target_session_attrs=read-write: the primary, the standby passed over as read-only, in recovery ${why}`, async () => {
    const t = connected(await checkRole(hostList([pair.standby(), pair.primary()], 'target_session_attrs=read-write')));
    expect(t.connectedTo).toEqual({ host: '127.0.0.1', port: pair.primary().port, why: 'the first host whose sessions are read-write (target_session_attrs=read-write)' });
    expect(t.passedOver).toEqual([
      {
        host: '127.0.0.1',
        port: pair.standby().port,
        code: 'host-read-only',
        reason: 'read-only: it is a standby (in recovery), so every session there is read-only; libpq says "session is read-only"',
      },
    ]);
    // server-role checks the chosen host, the primary.
    expect(t.results[0]!.status).toBe('ok');
    expect(t.results[0]!.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${pair.primary().port} \\(database "postgres"\\) is a primary \\(not in recovery\\)`));
  });

  it.skipIf(!basebackup)(`target_session_attrs=primary: the same choice, for "server is in hot standby mode" ${why}`, async () => {
    const t = connected(await checkRole(hostList([pair.standby(), pair.primary()], 'target_session_attrs=primary')));
    expect(t.connectedTo).toMatchObject({ port: pair.primary().port });
    expect(t.passedOver).toEqual([{ host: '127.0.0.1', port: pair.standby().port, code: 'host-standby', reason: 'a standby (in recovery); libpq says "server is in hot standby mode"' }]);
  });

  it.skipIf(!basebackup)(`target_session_attrs=any: the first host that accepts, standby or not; server-role then reports the standby ${why}`, async () => {
    const t = connected(await checkRole(hostList([pair.standby(), pair.primary()])));
    expect(t.connectedTo).toMatchObject({ port: pair.standby().port, why: 'the first host that accepted the connection' });
    expect(t.passedOver).toEqual([]);
    expect(t.results[0]!.status).toBe('error');
    expect(t.results[0]!.message).toContain(`127.0.0.1:${pair.standby().port} (database "postgres") is a standby`);
  });

  it.skipIf(!basebackup).each(['standby', 'read-only', 'prefer-standby'])(`host=primary,standby target_session_attrs=%s: the standby ${why}`, async (attrs) => {
    const t = connected(await checkRole(hostList([pair.primary(), pair.standby()], `target_session_attrs=${attrs}`)));
    expect(t.connectedTo).toMatchObject({ host: '127.0.0.1', port: pair.standby().port });
    expect(t.passedOver).toHaveLength(1);
    expect(t.passedOver![0]).toMatchObject({ port: pair.primary().port, code: attrs === 'read-only' ? 'host-not-read-only' : 'host-not-standby' });
    // server-role on the chosen standby: what the target asks for, so info.
    expect(t.results[0]!.status).toBe('info');
    expect(t.results[0]!.message).toContain(`127.0.0.1:${pair.standby().port} (database "postgres") is a standby, as target_session_attrs=${attrs} asks`);
  });

  it.skipIf(!basebackup)(`no host of the kind asked for: one exit-3 error naming each host and why ${why}`, async () => {
    const t = await checkRole(hostList([pair.standby(), pair.standby()], 'target_session_attrs=read-write'));
    expect(t.error?.exitCode).toBe(3);
    expect(t.error?.code).toBe('connect-no-suitable-host');
    const refusal = `127.0.0.1:${pair.standby().port}: read-only: it is a standby (in recovery), so every session there is read-only; libpq says "session is read-only"`;
    expect(t.error?.message).toBe(`none of the 2 hosts would do (tried in order, as libpq does, for target_session_attrs=read-write): ${refusal}; ${refusal}`);
    expect(t.error?.remediation[0]?.text).toContain('patronictl list');
  });

  // Last: it stops the standby.
  it.skipIf(!basebackup)(`prefer-standby with the standby down: the primary, on the second pass ${why}`, async () => {
    await pair.standby().stop();
    const t = connected(await checkRole(hostList([pair.standby(), pair.primary()], 'target_session_attrs=prefer-standby')));
    expect(t.connectedTo).toEqual({
      host: '127.0.0.1',
      port: pair.primary().port,
      why: 'no standby took the connection, so the first host that did (target_session_attrs=prefer-standby: standbys first, then any server)',
    });
    expect(t.passedOver).toEqual([{ host: '127.0.0.1', port: pair.standby().port, code: 'connect-refused', reason: 'connection refused: nothing listens there' }]);
    expect(t.results[0]!.status).toBe('ok');
  });
});
