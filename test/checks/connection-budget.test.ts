// connection-budget from homeserver.yaml and worker fixtures, against servers with a small
// max_connections. The fixtures name Synapse's host (synapse-db.internal); --dsn points
// pg-preflight at the throwaway server, as a user checking from another machine would.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import yaml from 'js-yaml';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import CHECK from '../../checks/connection-budget.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import type { CheckResult, Finding, Remediation } from '../../src/types.js';
import { FIXTURES, synapseSchemaSql } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { applyYaml } from '../helpers/pasted.js';
import { createDatabase, dsnFor, sharedServers, sql } from '../helpers/servers.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

const fixture = (name: string) => join(FIXTURES, 'config', name);

interface JsonResult {
  status: string;
  message: string;
  details: Record<string, unknown> | null;
  findings: Finding[];
  remediation: Remediation[];
}

describe.each(matrixMajors())('connection-budget on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  const held: pg.Client[] = [];
  const dsn = () => dsnFor(server, 'postgres');

  /** The check as the library runs it: the config's pools and workers, connecting to `on` as --dsn over --config would. */
  const budget = async (config: string, workerConfigs: string[] = [], on: ThrowawayServer = server): Promise<CheckResult> =>
    (await runCheck(CHECK, on, 'postgres', { configPaths: [config], dsnOverConfig: true, workerConfigs })).result;

  /** The same through the command line and its JSON, for what only the CLI does: its flags. */
  async function budgetViaCli(config: string, flags: string[]): Promise<JsonResult> {
    const r = await runCli(['--dsn', dsn(), '--config', config, ...flags, '--only', 'connection-budget', '--format', 'json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toBeUndefined();
    return doc.results[0];
  }

  async function hold(n: number, user: string): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ host: server.socketDir, port: server.port, user, database: 'postgres' });
      await c.connect();
      held.push(c);
    }
  }

  async function release(): Promise<void> {
    await Promise.all(held.splice(0).map((c) => c.end()));
  }

  beforeAll(async () => {
    // 20 connections, 3 reserved for superusers: 17 free for Synapse.
    server = await startThrowawayServer({ server: specFor(major), settings: { max_connections: 20 } });
    const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('CREATE ROLE other_app LOGIN; CREATE ROLE synapse_user LOGIN');
    await c.end();
  });
  afterAll(async () => {
    await release();
    await server?.stop();
  });

  it('main plus two workers (one with its own section) need 26 of 17: error; the printed cp_max in both files fits', async () => {
    const main = fixture('budget-main.yaml');
    const own = fixture('budget-worker2.yaml');
    const r = await budget(main, [fixture('budget-worker1.yaml'), own]);
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/up to 26 connections .*main: master cp_max 10 \+ 1; generic_worker1: master cp_max 10 \+ 1; event_persister1: master cp_max 3 \+ 1.*only 17 are free: max_connections 20 − 3 reserved for superusers − 0 held by other roles/);
    expect(r.details).toMatchObject({ demand: 26, free: 17, maxConnections: 20, reserved: 3 });
    const [mainYaml, workerYaml] = r.remediation.filter((s) => s.kind === 'config');
    expect(mainYaml!.title).toMatch(/3 pools × \(3 \+ 1\) = 12 fits in 13/);
    expect(yaml.load(mainYaml!.text)).toEqual({ database: { args: { cp_max: 3, cp_min: 3 } } });
    expect(workerYaml!.title).toContain(own);
    const fixedMain = applyYaml(main, mainYaml!.text);
    const fixedOwn = applyYaml(own, workerYaml!.text);
    const again = await budget(fixedMain, [fixture('budget-worker1.yaml'), fixedOwn]);
    expect(again.status).toBe('ok');
    expect(again.details).toMatchObject({ demand: 12 });
  });

  it('or the printed max_connections: ALTER SYSTEM runs, waits for a restart, and a server started with it has room', async () => {
    const r = await budget(fixture('budget-main.yaml'), [fixture('budget-worker1.yaml'), fixture('budget-worker2.yaml')]);
    const alter = r.remediation.find((s) => s.kind === 'sql')!;
    expect(alter.text).toBe('ALTER SYSTEM SET max_connections = 36;');
    expect(alter.title).toMatch(/restart/);
    expect(await applyPrinted(server, 'postgres', r, { filter: (s) => s === alter, silent: true })).toEqual([alter.text]);
    const [read] = await sql(server, 'postgres', "SELECT setting FROM pg_file_settings WHERE name = 'max_connections' AND applied IS NOT NULL ORDER BY seqno DESC LIMIT 1");
    await sql(server, 'postgres', 'ALTER SYSTEM RESET max_connections');
    expect(read!.rows[0]).toEqual({ setting: '36' });
    // What the restart would give: a server with that max_connections.
    const bigger = await startThrowawayServer({ server: specFor(major), settings: { max_connections: 36 } });
    try {
      const after = await budget(fixture('budget-main.yaml'), [fixture('budget-worker1.yaml'), fixture('budget-worker2.yaml')], bigger);
      expect(after.status).toBe('ok');
    } finally {
      await bigger.stop();
    }
  });

  it('--workers N counts N more processes on the shared section', async () => {
    const r = await budgetViaCli(fixture('budget-main.yaml'), ['--workers', '2']);
    expect(r.details).toMatchObject({ demand: 33 });
    expect(r.message).toMatch(/worker 1: master cp_max 10 \+ 1; worker 2: master cp_max 10 \+ 1/);
    expect(r.status).toBe('error');
    // The library, given the same files and count, says the same.
    const lib = (await runCheck(CHECK, server, 'postgres', { configPaths: [fixture('budget-main.yaml')], dsnOverConfig: true, workers: 2 })).result;
    expect(lib.message).toBe(r.message);
  });

  it('--worker-config on the command line: the same count as the library gives', async () => {
    const workers = [fixture('budget-worker1.yaml'), fixture('budget-worker2.yaml')];
    const r = await budgetViaCli(fixture('budget-main.yaml'), workers.flatMap((w) => ['--worker-config', w]));
    expect(r.details).toMatchObject({ demand: 26 });
    expect(r.message).toBe((await budget(fixture('budget-main.yaml'), workers)).message);
  });

  it('a worker whose own section points at another server is not counted here', async () => {
    const r = await budget(fixture('budget-main.yaml'), [fixture('budget-worker-elsewhere.yaml')]);
    expect(r.details).toMatchObject({ demand: 11 });
    expect(r.status).toBe('ok');
  });

  it('connections other roles hold count against the budget; those of Synapse\'s own role are taken to be its own', async () => {
    await hold(4, 'other_app');
    await hold(2, 'synapse_user');
    try {
      const r = await budget(fixture('budget-main.yaml'));
      // 20 − 3 − 4 = 13 free, 11 needed: over 80%.
      expect(r.status).toBe('warning');
      expect(r.message).toMatch(/13 free .*4 held by other roles.*2 connections of synapse_user open now are taken to be a running Synapse's/);
      expect(r.details).toMatchObject({ demand: 11, free: 13, inUseByOthers: 4, synapseRoleConnections: 2 });
    } finally {
      await release();
    }
  });

  it.each([
    ['budget-cp-min-over-max.yaml', /cp_min 10 is above cp_max 5 in homeserver.yaml/],
    ['budget-cp-max-only.yaml', /cp_min 3 \(Twisted's default\) is above cp_max 2/],
  ])('%s: a note (Twisted lowers cp_min to cp_max, so Synapse starts); the printed YAML says it outright', async (name, message) => {
    const r = await budget(fixture(name));
    const f = r.findings.find((x) => message.test(x.message))!;
    expect(f.status).toBe('info');
    expect(f.message).toMatch(/Twisted lowers cp_min to \d+, so Synapse starts with a pool of at most \d+/);
    const fixed = applyYaml(fixture(name), f.remediation![0]!.text);
    const again = await budget(fixed);
    expect(again.findings.some((x) => /is above cp_max/.test(x.message))).toBe(false);
    expect(again.status).toBe('ok');
  });

  it('cp_max directly under database: is ignored by Synapse: error; moving it under args as printed', async () => {
    const r = await budget(fixture('budget-misplaced.yaml'));
    expect(r.status).toBe('error');
    const f = r.findings.find((x) => /cp_min and cp_max sit directly under database:/.test(x.message))!;
    // Ignored there, so the pool is Twisted's 5 (+1), which is what is counted.
    expect(r.details ?? r.findings.find((x) => x.details)?.details).toMatchObject({ demand: 6 });
    const fixed = applyYaml(fixture('budget-misplaced.yaml'), f.remediation![0]!.text, (doc) => {
      const section = doc.database as Record<string, unknown>;
      delete section.cp_min;
      delete section.cp_max;
    });
    const again = await budget(fixed);
    expect(again.status).toBe('ok');
    expect(again.details).toMatchObject({ demand: 11 });
  });

  it('--workers must be a whole number', async () => {
    const r = await runCli(['--dsn', dsn(), '--workers', 'two', '--only', 'connection-budget']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers must be a whole number/);
  });
});

describe.each(sharedServers())('connection-budget without a config, on PostgreSQL $major', (server) => {
  it('a plain database and no Synapse flags: skipped, saying what would let it count', async () => {
    const db = await createDatabase(server, 'budget_plain');
    const r = (await runCheck(CHECK, server, db)).result;
    expect(r.status).toBe('skipped');
    expect(r.message).toMatch(/--config.*--workers 0/);
  });

  it('a Synapse database: the main process with Twisted\'s default pool', async () => {
    const db = await createDatabase(server, 'budget_syn', { setup: synapseSchemaSql(94) });
    const r = (await runCheck(CHECK, server, db)).result;
    expect(r.details).toMatchObject({ demand: 6 });
  });
});
