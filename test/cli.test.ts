import { startPasswordServer } from './helpers/password-server.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ThrowawayServer } from '../src/throwaway/server.js';
import { runCli } from './helpers/cli.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const pg10 = () => sharedServers().find((s) => s.major === 10)!;
const PASSWORD = 'Corr3ct-Horse:Battery@Staple';

describe('check: exit codes and output', () => {
  let healthy: string;
  let broken: string;
  beforeAll(async () => {
    healthy = await createDatabase(pg18(), 'cli_ok', { setup: synapseSchemaSql(94) });
    broken = await createDatabase(pg18(), 'cli_bad', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
  });

  it('healthy database: exit 0, one line per check and a summary', async () => {
    const r = await runCli(['check', '--dsn', dsnFor(pg18(), healthy)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✔ ok\s+server-version/);
    // Other checks may warn on a throwaway server (memory-settings on a small shared_buffers).
    expect(r.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('check is the default command; an error makes exit 1; --fail-on never and --skip change that', async () => {
    const dsn = dsnFor(pg18(), broken);
    expect((await runCli(['--dsn', dsn])).code).toBe(1);
    expect((await runCli(['--dsn', dsn, '--fail-on', 'never'])).code).toBe(0);
    expect((await runCli(['--dsn', dsn, '--skip', 'database-encoding'])).code).toBe(0);
    expect((await runCli(['--dsn', dsn, '--only', 'server-version,database-locale'])).code).toBe(0);
  });

  it('--fail-on warning fails on a warning that the default lets pass', async () => {
    const plain = await createDatabase(pg10(), 'cli_warn');
    const dsn = dsnFor(pg10(), plain);
    // PostgreSQL 10 is past its end of life: a warning.
    expect((await runCli(['--dsn', dsn, '--only', 'server-version'])).code).toBe(0);
    expect((await runCli(['--dsn', dsn, '--only', 'server-version', '--fail-on', 'warning'])).code).toBe(1);
  });

  it('--format json: the documented shape, and nothing else on stdout', async () => {
    const r = await runCli(['check', '--dsn', dsnFor(pg18(), broken), '--format', 'json', '--only', 'server-version,database-encoding,database-locale']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.tool).toEqual({ name: 'pg-preflight', version: expect.any(String) });
    expect(doc.target).toMatchObject({ label: 'master', host: pg18().host, port: pg18().port, database: broken, user: 'postgres', serverVersion: expect.stringMatching(/^18\./) });
    expect(doc.target).not.toHaveProperty('password');
    expect(doc.summary).toMatchObject({ ok: 2, error: 1, warning: 0, info: 0, skipped: 0, failed: 0 });
    expect(doc.results.map((x: { id: string }) => x.id)).toEqual(['server-version', 'database-encoding', 'database-locale']);
    const enc = doc.results[1];
    expect(Object.keys(enc)).toEqual(expect.arrayContaining(['id', 'title', 'status', 'message', 'details', 'remediation']));
    expect(enc.status).toBe('error');
    expect(enc.remediation.map((s: { kind: string }) => s.kind)).toContain('shell');
    expect(doc).not.toHaveProperty('error');
  });

  it('colour only on a TTY, and never with NO_COLOR', async () => {
    const { main } = await import('../src/cli.js');
    const capture = async (env: NodeJS.ProcessEnv, args: string[] = []) => {
      let out = '';
      await main(['--dsn', dsnFor(pg18(), healthy), ...args], { stdout: (t) => { out += t; }, stderr: () => undefined, env, isTTY: true });
      return out;
    };
    expect(await capture({})).toContain('\x1b[');
    expect(await capture({ NO_COLOR: '1' })).not.toContain('\x1b[');
    expect(await capture({}, ['--no-color'])).not.toContain('\x1b[');
  });

  it('list and explain', async () => {
    const list = await runCli(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^server-version\s+PostgreSQL server version$/m);
    const json = JSON.parse((await runCli(['list', '--format', 'json'])).stdout);
    expect(json.map((c: { id: string }) => c.id)).toContain('database-locale');
    const explain = await runCli(['explain', 'database-locale']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('allow_unsafe_locale');
  });
});

describe('connection failures: exit 3, one clear line, never the password', () => {
  let server: ThrowawayServer;
  let config: string;
  beforeAll(async () => {
    server = await startPasswordServer({ role: 'synapse_user', password: PASSWORD, database: 'synapse' });
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-cli-'));
    config = join(dir, 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: "${PASSWORD}"\n    dbname: synapse\n    host: 127.0.0.1\n    port: ${server.port}\n`);
  });
  afterAll(async () => server?.stop());

  it('the right password from homeserver.yaml connects, and the password appears in no output', async () => {
    for (const format of ['text', 'json']) {
      const r = await runCli(['--config', config, '--format', format]);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    }
  });

  it('a wrong password: exit 3 in text and JSON, with no password in either', async () => {
    const wrong = 'Wrong-Pass-Value-123';
    const dsn = `postgresql://synapse_user:${encodeURIComponent(wrong)}@127.0.0.1:${server.port}/synapse`;
    const text = await runCli(['--dsn', dsn]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/cannot check: .*password authentication failed/);
    expect(text.stdout + text.stderr).not.toMatch(/\n\s+at /);
    const json = await runCli(['--dsn', dsn, '--format', 'json']);
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout);
    expect(doc.error).toMatchObject({ code: expect.stringMatching(/^auth-/), message: expect.any(String), remediation: expect.any(Array) });
    expect(doc.results).toEqual([]);
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(wrong);
      expect(out).not.toContain(encodeURIComponent(wrong));
    }
    const env = await runCli(['--dsn', `postgresql://synapse_user@127.0.0.1:${server.port}/synapse`], { PGPASSWORD: wrong });
    expect(env.code).toBe(3);
    expect(env.stdout + env.stderr).not.toContain(wrong);
  });

  it('nothing listening: exit 3, "connect-refused"', async () => {
    const port = await freePort();
    const r = await runCli(['--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--format', 'json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('connect-refused');
  });

  it('no socket in the directory: exit 3, "connect-no-socket"', async () => {
    const r = await runCli(['--dsn', 'postgresql:///db?host=/nonexistent-dir&user=u']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('no PostgreSQL socket at the Unix socket /nonexistent-dir/.s.PGSQL.5432');
  });

  it('a server that accepts TCP and never answers: exit 3 once --connect-timeout runs out', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const r = await runCli(['--dsn', `postgresql://u@127.0.0.1:${port}/db?sslmode=disable`, '--connect-timeout', '1', '--format', 'json']);
      const elapsed = Date.now() - t0;
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout).error.code).toBe('connect-timeout');
      // Bounded: the timeout, not a hang (generous margin for a loaded machine).
      expect(elapsed).toBeLessThan(6000);
    } finally {
      silent.close();
    }
  });
});

describe('demo', () => {
  it('starts its own server, shows the broken report, the fix and a clean re-check', async () => {
    const r = await runCli(['demo', '--no-color']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✖ error\s+database-encoding/);
    expect(r.stdout).toMatch(/Demo finished/);
    const [before, after] = r.stdout.split('homeserver.yaml, again');
    expect(before).toContain('exit code 1');
    expect(after).toContain('exit code 0');

    // Its database also has lagging sequences and a stream position ahead: the plan, the fix, clean.
    const [report, plan, applied, rest] = r.stdout.split(/==> pg-preflight fix --config homeserver.yaml|==> The encoding fix/);
    expect(report).toMatch(/✖ error\s+sequence-drift: 3 errors: public\.device_inbox_sequence, public\.events_stream_seq, public\.state_group_id_seq/);
    expect(report).toMatch(/✖ public\.device_inbox_sequence is behind/);
    expect(report).toMatch(/public\.events_stream_seq is behind public\.events\.stream_ordering: last value 120, table maximum 152 \(gap 32\)/);
    expect(report).toMatch(/✖ error\s+stream-positions: stream "receipts" is at 37 .*\(client_reader1 37, master 5\)/);
    expect(plan).toContain('Plan: 4 statements');
    expect(plan).toContain(`SELECT setval('"public"."events_stream_seq"', GREATEST(`);
    expect(plan).toMatch(/Nothing was changed[\s\S]*exit code 1/);
    expect(applied).toMatch(/public\.events_stream_seq: 120 → 152/);
    expect(applied).toMatch(/public\.receipts_sequence: 5 → 37/);
    expect(applied).toMatch(/Verified under the lock: no sequence is behind[\s\S]*exit code 0/);
    const clean = rest!.split('homeserver.yaml, again')[1]!;
    expect(clean).toMatch(/✔ ok\s+sequence-drift: 20 sequences compared .*none behind/);
    // The copy into the UTF8 database carried the rows over: both streams' positions are there.
    expect(clean).toMatch(/✔ ok\s+stream-positions: 2 streams compared/);
  }, 60_000);
});
