import { startPasswordServer } from './helpers/password-server.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { main } from '../src/cli.js';
import { freePort, startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { runCli } from './helpers/cli.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

const PASSWORD = 'Wait-For-Me:42';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pg18 = () => sharedServers().find((s) => s.major === 18)!;
/** Checks whose verdict on the test databases is known; other built-in checks may warn on a throwaway server. */
const FOUNDATION = 'server-version,database-encoding,database-locale';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const value = await fn();
  return [value, Date.now() - t0];
}

function postmasterPid(server: ThrowawayServer): number {
  return Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('--wait: retry while the server comes up, fail at once on what waiting cannot fix', () => {
  let secured: ThrowawayServer;
  beforeAll(async () => {
    secured = await startPasswordServer({ role: 'app', password: PASSWORD, database: 'app' });
  });
  afterAll(async () => secured?.stop());

  it('a server that starts 3 s after the run: one note on stderr, then a normal run (exit 0)', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-wait-'));
    const config = join(dir, 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: postgres\n    host: 127.0.0.1\n    port: ${port}\n`);
    let late: ThrowawayServer | undefined;
    const starter = sleep(3000).then(async () => {
      late = await startThrowawayServer({ major: 18, settings: { port } });
    });
    try {
      const [r, ms] = await timed(() => runCli(['check', '--wait', '20', '--config', config]));
      await starter;
      expect(r.code).toBe(0);
      expect(ms).toBeGreaterThanOrEqual(3000);
      expect(r.stdout).toMatch(/✔ ok\s+database-encoding/);
      const notes = r.stderr.trim().split('\n');
      expect(notes[0]).toMatch(new RegExp(`^pg-preflight: waiting for master: nothing accepts connections at 127\\.0\\.0\\.1:${port}: .*; trying again for up to (20|19) s$`));
      expect(notes[notes.length - 1]).toMatch(new RegExp(`^pg-preflight: master at 127\\.0\\.0\\.1:${port} accepted the login after [\\d.]+ s$`));
      // The same refusal is noted once, not once per attempt.
      expect(notes).toHaveLength(2);
    } finally {
      await starter.catch(() => undefined);
      await late?.stop();
    }
  }, 40_000);

  it('"the database system is shutting down" (57P03) is retried until a server answers on that port again', async () => {
    const port = await freePort();
    const first = await startThrowawayServer({ major: 18, settings: { port } });
    const held = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await held.connect();
    // A smart shutdown waits for the open session and meanwhile refuses new logins with 57P03.
    process.kill(postmasterPid(first), 'SIGTERM');
    await sleep(200);
    const dsn = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    let second: ThrowawayServer | undefined;
    try {
      const once = await runCli(['--dsn', dsn, '--format', 'json']);
      expect(once.code).toBe(3);
      expect(JSON.parse(once.stdout).error.code).toBe('connect-starting');

      const restart = sleep(1500).then(async () => {
        await held.end();
        await first.stop();
        second = await startThrowawayServer({ major: 18, settings: { port } });
      });
      const r = await runCli(['--dsn', dsn, '--wait', '20', '--wait-interval', '0.5']);
      await restart;
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^pg-preflight: waiting for master: the server at 127\.0\.0\.1:\d+ is starting up, shutting down or in recovery/m);
      expect(r.stderr).toMatch(/accepted the login after/);
    } finally {
      await held.end().catch(() => undefined);
      await first.stop();
      await second?.stop();
    }
  }, 40_000);

  it('a wrong password fails at once, with no retry and no note', async () => {
    const dsn = `postgresql://app:${encodeURIComponent('not-' + PASSWORD)}@127.0.0.1:${secured.port}/app`;
    const [r, ms] = await timed(() => runCli(['--dsn', dsn, '--wait', '20', '--format', 'json']));
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('auth-password');
    expect(r.stderr).toBe('');
    expect(ms).toBeLessThan(5000);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('a missing database or role fails at once', async () => {
    const noDb = await runCli(['--dsn', `postgresql://postgres@127.0.0.1:${secured.port}/no_such_db`, '--wait', '20', '--format', 'json']);
    expect(noDb.code).toBe(3);
    expect(JSON.parse(noDb.stdout).error.code).toBe('connect-no-database');
    expect(noDb.stderr).toBe('');
    const noRole = await runCli(['--dsn', `postgresql://ghost@127.0.0.1:${secured.port}/app`, '--wait', '20', '--format', 'json'], { PGPASSWORD: 'x' });
    expect(noRole.code).toBe(3);
    expect(JSON.parse(noRole.stdout).error.code).toMatch(/^auth-/);
  });

  it('the right password under --wait: a normal run', async () => {
    const r = await runCli(['--dsn', `postgresql://app@127.0.0.1:${secured.port}/app`, '--wait', '5'], { PGPASSWORD: PASSWORD });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('nothing ever listens: exit 3 when the time is up, with the last error and its diagnosis', async () => {
    const port = await freePort();
    const [r, ms] = await timed(() => runCli(['--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--wait', '2', '--format', 'json']));
    expect(r.code).toBe(3);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe('connect-refused');
    expect(error.message).toMatch(/^still failing after waiting 2(\.\d)? s \(--wait, \d+ attempts\): nothing accepts connections at 127\.0\.0\.1:\d+/);
    expect(error.remediation.length).toBeGreaterThan(0);
    expect(ms).toBeGreaterThanOrEqual(2000);
    // Bounded: the deadline, not the default 10 s connect timeout per attempt (generous margin).
    expect(ms).toBeLessThan(6000);
  });

  it('no socket yet in a Unix socket directory is retried too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-sock-'));
    const [r, ms] = await timed(() => runCli(['--dsn', `postgresql:///db?host=${dir}&user=u`, '--wait', '1', '--format', 'json']));
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('connect-no-socket');
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toMatch(/waiting for master: there is no PostgreSQL socket/);
  });

  it('a host name that does not resolve (yet) is retried too', async () => {
    // .invalid never resolves (RFC 6761): what a container sees before its database's name exists.
    const [r, ms] = await timed(() => runCli(['--dsn', 'postgresql://u@db.invalid:5432/db', '--wait', '1', '--format', 'json']));
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('connect-unknown-host');
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toMatch(/waiting for master: the host name "db\.invalid" does not resolve/);
  });

  it('without --wait nothing retries; --quiet keeps the notes out; a negative --wait is a usage error', async () => {
    const port = await freePort();
    const dsn = `postgresql://u@127.0.0.1:${port}/db`;
    const [once, ms] = await timed(() => runCli(['--dsn', dsn]));
    expect(once.code).toBe(3);
    expect(once.stderr).toBe('');
    expect(ms).toBeLessThan(1000);
    const quiet = await runCli(['--dsn', dsn, '--wait', '0.5', '--quiet']);
    expect(quiet.code).toBe(3);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/cannot check: still failing after waiting/);
    expect((await runCli(['--dsn', dsn, '--wait', '-1'])).code).toBe(2);
  });
});

describe('pre-start output', () => {
  let healthy: string;
  let broken: string;
  beforeAll(async () => {
    healthy = dsnFor(pg18(), await createDatabase(pg18(), 'quiet_ok', { setup: synapseSchemaSql(94) }));
    broken = dsnFor(pg18(), await createDatabase(pg18(), 'quiet_bad', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) }));
  });

  it('--quiet prints nothing when all is well, and only the problems otherwise', async () => {
    expect(await runCli(['--dsn', healthy, '--only', FOUNDATION, '--quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const r = await runCli(['--dsn', broken, '--only', FOUNDATION, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Database master: /);
    expect(r.stdout).toMatch(/✖ error\s+database-encoding/);
    expect(r.stdout).not.toMatch(/✔ ok/);
    expect(r.stdout).not.toContain('pg-preflight 0.1.0');
    expect(r.stderr).toBe('');
  });

  describe('the progress line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-progress-'));
    const slow = join(dir, 'slow.mjs');
    writeFileSync(
      slow,
      "export default { id: 'slow-check', title: 'Slow', description: 'Sleeps.', docs: 'Sleeps.', async run(ctx) { await ctx.query('SELECT pg_sleep(0.9)'); return { status: 'ok', message: 'slept' }; } };",
    );
    const run = async (isTTY: boolean, extra: string[] = []) => {
      let stdout = '';
      let stderr = '';
      const code = await main(['--dsn', healthy, '--plugin', slow, '--only', `${FOUNDATION},slow-check`, '--no-color', ...extra], {
        stdout: (t) => { stdout += t; },
        stderr: (t) => { stderr += t; },
        env: { HOME: '/nonexistent' },
        isTTY,
      });
      return { code, stdout, stderr };
    };

    it('on a terminal, a run that takes a while shows what it is doing on stderr, and clears it', async () => {
      const r = await run(true);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] checking master: slow-check \(4\/4\)/);
      expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
      expect(r.stdout).not.toContain('\r');
    });

    it('never in JSON, under --quiet, or when stdout is not a terminal', async () => {
      expect((await run(true, ['--format', 'json'])).stderr).toBe('');
      expect((await run(true, ['--quiet'])).stderr).toBe('');
      expect((await run(false)).stderr).toBe('');
    });
  });
});
