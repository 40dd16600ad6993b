// The login a check starts before its command line is parsed (src/cli/early-login.ts,
// src/session-ahead.ts): read only off the plain shape of a command line, taken by the run only
// where the parse names the same target and limits, closed before the run's own login otherwise,
// closed when the command ends without a run, and never a different result or error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import connectionBudget from '../checks/connection-budget.js';
import sequenceDrift from '../checks/sequence-drift.js';
import serverVersion from '../checks/server-version/index.js';
import { readAhead } from '../src/cli/early-login.js';
import { resolveTargets } from '../src/config/resolve.js';
import { DEFAULT_LIMITS } from '../src/connection.js';
import { openAhead, type SessionAhead } from '../src/session-ahead.js';
import { runChecks } from '../src/runner.js';
import { freePort } from '../src/throwaway/server.js';
import { runCli, runMain } from './helpers/cli.js';
import { dsnFor, privateServer, sharedServers } from './helpers/servers.js';

const ENV = { HOME: '/nonexistent' };
const DSN = 'postgresql://app@db.example:5433/synapse';
const target = (dsn: string) => resolveTargets({ dsn, env: ENV }).targets[0]!;
const emptyDir = () => mkdtempSync(join(tmpdir(), 'pgpf-ahead-'));

describe('what the quick reading of a command line logs in to', () => {
  const cwd = emptyDir();
  const read = (argv: string[], env: NodeJS.ProcessEnv = ENV, dir = cwd) => readAhead(argv, env, dir);

  it('one --dsn, --config, the timeouts, check or no command', () => {
    expect(read(['check', '--dsn', DSN])).toEqual({ target: target(DSN), limits: DEFAULT_LIMITS, beside: true });
    expect(read(['--dsn=' + DSN, '--connect-timeout=3', '--lock-timeout', '0.5', '--format', 'json'])).toEqual({
      target: target(DSN),
      limits: { connectTimeoutMs: 3000, statementTimeoutMs: 5000, lockTimeoutMs: 500 },
      beside: true,
    });
    const config = join(emptyDir(), 'homeserver.yaml');
    writeFileSync(config, 'database:\n  name: psycopg2\n  args:\n    host: db.example\n    port: 5434\n    user: synapse\n    dbname: hs\n');
    expect(read(['-c', config])?.target).toEqual(resolveTargets({ configPaths: [config], env: ENV }).targets[0]);
    expect(read(['--config=' + config, '--dsn', DSN])?.target).toEqual(resolveTargets({ configPaths: [config], dsn: DSN, env: ENV }).targets[0]);
    const env = { ...ENV, PGHOST: 'db.example', PGPORT: '5435', PGUSER: 'u', PGDATABASE: 'd' };
    expect(read([], env)?.target).toEqual(resolveTargets({ env }).targets[0]);
  });

  it('leaves everything else to the run', () => {
    for (const argv of [
      ['fix', '--dsn', DSN],
      ['list'],
      ['check', '--dsn', DSN, '--wait', '5'],
      ['--dsn', DSN, '--all-databases'],
      ['--homeserver', 'hs.yaml'],
      ['--dsn', DSN, '--dsn', 'postgresql://other@db.example/x'],
      ['--dsn', DSN, '--help'],
      ['-qc', 'homeserver.yaml'],
      ['--dsn'],
      ['--dsn', DSN, '--connect-timeout', 'soon'],
      ['--dsn', 'postgresql://[::1/x'],
      ['-c', join(cwd, 'no-such-homeserver.yaml')],
      ['--', '--dsn', DSN],
    ]) {
      expect(read(argv), argv.join(' ')).toBeUndefined();
    }
  });

  it('leaves the second session to the run where something may keep it to one connection', () => {
    for (const flag of [['--set', 'sequence-drift.second-session=false'], ['--only', 'server-version'], ['--skip', 'sequence-drift'], ['--rules', 'r.yaml']]) {
      expect(read(['--dsn', DSN, ...flag])?.beside, flag[0]).toBe(false);
    }
    const withRules = emptyDir();
    writeFileSync(join(withRules, '.pg-preflight.yaml'), 'checks: {}\n');
    expect(read(['--dsn', DSN], ENV, withRules)?.beside).toBe(false);
  });
});

describe.each(sharedServers())('sessions opened ahead, on $name', (shared) => {
  // A private server: what is connected to it is this test's alone. The test watches sessions as
  // a role of its own, which connection-budget counts apart from the role checked.
  const DB = 'ahead';
  const priv = privateServer(shared.spec, DB, 'CREATE TABLE a (id serial PRIMARY KEY); INSERT INTO a (id) VALUES (5); CREATE ROLE watcher LOGIN;');

  /** The client backends connected to the private server but the watcher's, waited for until `done` says so (or 5 s). */
  const sessionsUntil = async (done: (names: string[]) => boolean): Promise<string[]> => {
    const c = new pg.Client({ host: priv.server.host, port: priv.server.port, user: 'watcher', database: 'postgres' });
    await c.connect();
    try {
      for (let tries = 0; ; tries++) {
        const { rows } = await c.query("SELECT application_name AS name FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename <> 'watcher' ORDER BY 1");
        const names = rows.map((r) => r.name as string);
        if (done(names) || tries > 250) return names;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await c.end();
    }
  };
  const none = (names: string[]) => names.length === 0;
  /** Records what the run took. */
  const watched = (ahead: SessionAhead) => {
    const seen = { taken: false };
    return { seen, ahead: { ...ahead, take: (...a: Parameters<SessionAhead['take']>) => { const o = ahead.take(...a); seen.taken ||= o !== undefined; return o; } } };
  };
  const processes = () => [{ name: 'main', pools: [{ label: 'master', server: `${priv.server.host}:${priv.server.port}`, cpMax: 5 }] }];
  const outcome = (r: Awaited<ReturnType<typeof runChecks>>) => r.targets[0]!.results.map((x) => [x.id, x.status, x.findings.map((f) => [f.code, f.object])]);

  it('the run takes them for its target and limits: the same findings, one first and one second session', async () => {
    await sessionsUntil(none);
    const t = target(dsnFor(priv.server, DB));
    const checks = [connectionBudget, sequenceDrift];
    const plain = await runChecks({ targets: [t], checks, inputs: { synapseProcesses: processes() }, closeWaits: true });
    const { seen, ahead } = watched(openAhead(t, DEFAULT_LIMITS, { beside: true }));
    await ahead.loggedIn();
    const early = await runChecks({ targets: [t], checks, inputs: { synapseProcesses: processes() }, closeWaits: true, ahead });
    expect(seen.taken).toBe(true);
    expect(outcome(early)).toEqual(outcome(plain));
    expect(early.targets[0]!.besideRoundTrips).toBeGreaterThanOrEqual(1);
    // The sessions ahead are the run's own: not counted as the role's connections.
    expect(early.targets[0]!.results[0]!.details).toMatchObject({ synapseRoleConnections: 0 });
    expect(await sessionsUntil(none)).toEqual([]);
  });

  it('other limits: closed before the run logs in, so that no check counts them', async () => {
    await sessionsUntil(none);
    const t = target(dsnFor(priv.server, DB));
    const { seen, ahead } = watched(openAhead(t, { ...DEFAULT_LIMITS, connectTimeoutMs: 7000 }, { beside: true }));
    await ahead.loggedIn();
    const report = await runChecks({ targets: [t], checks: [connectionBudget], inputs: { synapseProcesses: processes() }, closeWaits: true, ahead });
    expect(seen.taken).toBe(false);
    expect(report.targets[0]!.results[0]!.details).toMatchObject({ synapseRoleConnections: 0 });
  });

  it('a second session opened ahead for a check that is not in the run is closed', async () => {
    const t = target(dsnFor(priv.server, DB));
    const { seen, ahead } = watched(openAhead(t, DEFAULT_LIMITS, { beside: true }));
    await ahead.loggedIn();
    const report = await runChecks({ targets: [t], checks: [serverVersion], closeWaits: true, ahead });
    expect(seen.taken).toBe(true);
    expect(report.targets[0]!.besideRoundTrips).toBeUndefined();
    expect(await sessionsUntil(none)).toEqual([]);
  });

  it('through the command line: taken where the parse agrees, with the same report', async () => {
    await sessionsUntil(none);
    const dsn = dsnFor(priv.server, DB);
    const config = join(emptyDir(), 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    host: ${priv.server.host}\n    port: ${priv.server.port}\n    user: postgres\n    dbname: ${DB}\n`);
    const results = (stdout: string) => JSON.parse(stdout).results.map((r: { id: string; status: string; message: string }) => [r.id, r.status, r.message]);
    for (const argv of [['check', '--dsn', dsn], ['--dsn=' + dsn, '--statement-timeout', '4'], ['-c', config]]) {
      const args = [...argv, '--format', 'json', '--only', 'server-version,sequence-drift'];
      const read = readAhead(args, ENV, process.cwd());
      expect(read, argv.join(' ')).toBeDefined();
      const { seen, ahead } = watched(openAhead(read!.target, read!.limits, { beside: read!.beside }));
      const early = await runMain(args, ENV, ahead);
      const plain = await runMain(args);
      expect(seen.taken, argv.join(' ')).toBe(true);
      expect([early.code, early.stderr]).toEqual([plain.code, plain.stderr]);
      expect(results(early.stdout)).toEqual(results(plain.stdout));
    }
  });

  it('closed when the command ends without a run (a usage error)', async () => {
    const bad = await runCli(['--dsn', dsnFor(priv.server, DB), '--format', 'bogus']);
    expect(bad.code).toBe(2);
    expect(await sessionsUntil(none)).toEqual([]);
  });

  it('a login that fails ahead fails the run with the same words', async () => {
    const refused = `postgresql://postgres@127.0.0.1:${await freePort()}/${DB}?connect_timeout=2`;
    const missing = dsnFor(priv.server, 'no_such_database');
    for (const dsn of [refused, missing]) {
      const early = await runCli(['--dsn', dsn]);
      const plain = await runMain(['--dsn', dsn]);
      expect(early.code, dsn).toBe(3);
      // The run's time starts after a login ahead has already failed.
      const untimed = (r: typeof plain) => ({ ...r, stdout: r.stdout.replace(/\(\d+ ms\)/g, '(N ms)') });
      expect(untimed(early)).toEqual(untimed(plain));
    }
  });
});
