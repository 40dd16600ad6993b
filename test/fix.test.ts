import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../src/throwaway/server.js';
import { defineCheck } from '../src/define-check.js';
import { fixSequences } from '../src/fix.js';
import type { SequenceAdvanceFix } from '../src/fix-types.js';
import { runCheck } from './helpers/check.js';
import { runCli } from './helpers/cli.js';
import { fixtureSql } from './helpers/fixtures.js';
import { createDatabase, dsnFor, sharedServers, sql, type SharedServer } from './helpers/servers.js';

const scenario = (...files: string[]) => [fixtureSql('synapse/schema.sql'), ...files.map((f) => fixtureSql(f))].join('\n');

async function lastValues(server: SharedServer, db: string): Promise<Record<string, string>> {
  const [r] = await sql(
    server,
    db,
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS seq, pg_sequence_last_value(c.oid)::text AS v
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' ORDER BY 1`,
  );
  return Object.fromEntries(r!.rows.map((row) => [row.seq, row.v]));
}

async function connectedAs(server: SharedServer, db: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: db, application_name: applicationName });
  await client.connect();
  return client;
}

describe.each(sharedServers())('fix on PostgreSQL $major', (server) => {
  it('a healthy database: an empty plan and exit 0, with or without --apply', async () => {
    const db = await createDatabase(server, 'fix_ok', { setup: scenario('sequence-drift/fresh-install.sql') });
    const plan = await runCli(['fix', '--dsn', dsnFor(server, db)]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Nothing to fix');
    expect((await runCli(['fix', '--dsn', dsnFor(server, db), '--apply'])).code).toBe(0);
  });

  it('without --apply: every fixable finding\'s SQL, nothing changed, exit 1', async () => {
    const db = await createDatabase(server, 'fix_plan', { setup: scenario('stream-positions/failover.sql') });
    const before = await lastValues(server, db);
    const r = await runCli(['fix', '--dsn', dsnFor(server, db)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`SELECT setval('"public"."events_stream_seq"', GREATEST(`);
    expect(r.stdout).toContain(`WHERE stream_name = 'events')));`);
    expect(r.stdout).toContain('Nothing was changed');
    expect(await lastValues(server, db)).toEqual(before);
  });

  it('--apply refuses while another session is connected and lists it; --force applies; a second run changes nothing', async () => {
    const db = await createDatabase(server, 'fix_refuse', { setup: scenario('sequence-drift/fresh-install.sql', 'sequence-drift/downgrade.sql') });
    const other = await connectedAs(server, db, 'synapse_worker_1');
    try {
      const before = await lastValues(server, db);
      const refused = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(new RegExp(`Refused: 1 other session is connected.*\\n\\s+pid ${(other as unknown as { processID: number }).processID}\\s+user postgres\\s+application synapse_worker_1\\s+from 127\\.0\\.0\\.1`));
      expect(await lastValues(server, db)).toEqual(before);

      const forced = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply', '--force']);
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(/public\.events_stream_seq: 120 → 152/);
      expect(forced.stdout).toContain('Verified under the lock: no sequence is behind');
    } finally {
      await other.end();
    }
    const fixed = await lastValues(server, db);
    const again = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to fix');
    expect(await lastValues(server, db)).toEqual(fixed);
  });

  it('--apply through the library: Synapse scenarios end clean, inserts work, JSON has plan and outcome', async () => {
    const db = await createDatabase(server, 'fix_lib', { setup: scenario('stream-positions/failover.sql') });
    const report = await fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true });
    expect(report.exitCode).toBe(0);
    const t = report.targets[0]!;
    // events_stream_seq is behind its table (sequence-drift) and its stream (stream-positions):
    // the first statement moves it, the second finds it already there.
    const events = t.applied!.filter((a) => a.object === 'public.events_stream_seq');
    expect(events.map((a) => [a.check, a.before.lastValue, a.after.lastValue, a.changed])).toEqual([
      ['sequence-drift', '169', '201', true],
      ['stream-positions', '201', '201', false],
    ]);
    expect(t.remaining).toEqual([]);
    expect((await runCheck(server, db, 'sequence-drift')).status).toBe('ok');
    expect((await runCheck(server, db, 'stream-positions')).status).toBe('ok');
    await sql(server, db, [
      "INSERT INTO events (event_id, room_id, stream_ordering) VALUES ('$new', '!r:x', nextval('events_stream_seq'))",
      "INSERT INTO stream_positions VALUES ('events', 'master', currval('events_stream_seq')) ON CONFLICT (stream_name, instance_name) DO UPDATE SET stream_id = EXCLUDED.stream_id",
    ].join(';\n'));

    const json = await runCli(['fix', '--dsn', dsnFor(server, db), '--format', 'json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ apply: false, exitCode: 0, targets: [{ database: db, plan: [], applied: null, refused: null }] });
  });

  it('JSON with --apply: the plan, each statement\'s before and after, and what remains', async () => {
    const db = await createDatabase(server, 'fix_json', { setup: scenario('sequence-drift/port-from-sqlite.sql') });
    const r = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply', '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const t = doc.targets[0];
    expect(t.plan.map((p: { object: string }) => p.object).sort()).toEqual(
      ['public.sticky_events_sequence', 'public.thread_subscriptions_sequence', 'public.un_partial_stated_room_stream_sequence'],
    );
    expect(t.plan[0]).toMatchObject({ check: 'sequence-drift', status: 'error', sql: expect.stringMatching(/^SELECT setval\(/), summary: expect.any(String) });
    const thread = t.applied.find((a: { object: string }) => a.object === 'public.thread_subscriptions_sequence');
    expect(thread).toMatchObject({ before: { lastValue: '1', isCalled: true }, after: { lastValue: '12', isCalled: true }, changed: true });
    expect(t.remaining).toEqual([]);
    expect(t.applyError).toBeNull();
  });

  it('a generic application: fixed like Synapse\'s; a sequence already ahead of its table is not lowered', async () => {
    const db = await createDatabase(server, 'fix_app', { setup: fixtureSql('sequence-drift/generic-app.sql') });
    const r = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"My Schema"\."My ""odd"" Seq": 1 → 20/);
    expect(r.stdout).toMatch(/app\.countdown_seq: -2 → -40/);
    const values = await lastValues(server, db);
    expect(values['app.ahead_id_seq']).toBe('1000');
    expect(values['app.countdown_seq']).toBe('-40');
    await sql(server, db, ["INSERT INTO app.orders (note) VALUES ('new')", 'INSERT INTO app.countdown DEFAULT VALUES', `INSERT INTO "My Schema"."Order Lines" (note) VALUES ('n')`].join(';\n'));
  });

  it('with several hosts, the plan and the apply name the host they were made on, not the first one given', async () => {
    const db = await createDatabase(server, 'fix_hosts', { setup: fixtureSql('sequence-drift/generic-app.sql') });
    const dead = await freePort();
    const dsn = `postgresql://postgres@127.0.0.1:${dead},127.0.0.1:${server.port}/${db}`;
    const plan = await runCli(['fix', '--dsn', dsn]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`Database master: "${db}" at 127.0.0.1:${server.port} as postgres`);
    expect(plan.stdout).toContain(`127.0.0.1:${server.port} of 127.0.0.1:${dead}, 127.0.0.1:${server.port}: the first host that accepted the connection`);
    const applied = JSON.parse((await runCli(['fix', '--dsn', dsn, '--apply', '--format', 'json'])).stdout);
    expect(applied.targets[0].hosts).toEqual([{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: server.port }]);
    expect(applied.targets[0].connectedTo).toMatchObject({ host: '127.0.0.1', port: server.port });
    expect(applied.exitCode).toBe(0);
  });

  it('a finding fix leaves alone (a table holding a value past MAXVALUE) keeps exit 1 and is listed', async () => {
    const db = await createDatabase(server, 'fix_range', {
      setup: 'CREATE TABLE t (id bigint PRIMARY KEY); CREATE SEQUENCE t_id_seq AS integer OWNED BY t.id; INSERT INTO t VALUES (3000000000);',
    });
    const check = await runCheck(server, db, 'sequence-drift');
    expect(check.status).toBe('error');
    expect(check.message).toMatch(/past the sequence's MAXVALUE 2147483647/);
    const r = await runCli(['fix', '--dsn', dsnFor(server, db), '--apply']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Left alone by fix');
    expect(r.stdout).toContain('Nothing to fix');
  });

  it('--apply is atomic: when a later statement fails, the earlier ones are rolled back too', async () => {
    const db = await createDatabase(server, 'fix_atomic', {
      setup: [
        'CREATE TABLE aa (id serial PRIMARY KEY); INSERT INTO aa (id) SELECT generate_series(1, 30);',
        'CREATE TABLE zz (id serial PRIMARY KEY); INSERT INTO zz (id) SELECT generate_series(1, 40);',
      ].join('\n'),
    });
    const before = await lastValues(server, db);
    // nextval in an open transaction holds a lock that lets the checks read zz_id_seq but makes
    // the ALTER of the second statement wait past --lock-timeout.
    const holder = await connectedAs(server, db, 'holder');
    try {
      await holder.query("BEGIN; SELECT nextval('zz_id_seq')");
      const r = await fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true, force: true, limits: { lockTimeoutMs: 300 } });
      const t = r.targets[0]!;
      expect(r.exitCode).toBe(1);
      expect(t.plan.map((p) => p.object)).toEqual(['public.aa_id_seq', 'public.zz_id_seq']);
      expect(t.applyError).toMatch(/^public\.zz_id_seq: .*lock timeout.*rolled back: no sequence was changed/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // aa_id_seq was moved inside the transaction and is back where it was.
    expect((await lastValues(server, db))['public.aa_id_seq']).toBe(before['public.aa_id_seq']);
    const again = await fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true });
    expect(again.exitCode).toBe(0);
    expect(await lastValues(server, db)).toMatchObject({ 'public.aa_id_seq': '30', 'public.zz_id_seq': '40' });
  });

  it('a role that may update a sequence but does not own it: --apply falls back to setval', async () => {
    const db = await createDatabase(server, 'fix_notowner', { setup: 'CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t (id) SELECT generate_series(1, 25);' });
    const role = `fixer_${db}`;
    await sql(server, db, `CREATE ROLE ${role} LOGIN; GRANT SELECT ON t TO ${role}; GRANT SELECT, UPDATE ON SEQUENCE t_id_seq TO ${role}`);
    const r = await fixSequences({ dsn: dsnFor(server, db, role), env: {}, apply: true });
    expect(r.exitCode).toBe(0);
    expect(r.targets[0]!.applied!.map((a) => [a.object, a.after.lastValue, a.changed])).toEqual([['public.t_id_seq', '25', true]]);
    await sql(server, db, 'INSERT INTO t DEFAULT VALUES');
  });

  it('a plugin check that declares fixes: its findings\' fixes are planned and applied like the built-in ones; a malformed one is left alone', async () => {
    // A sequence no column owns, which only the application (and its plugin) knows about.
    const db = await createDatabase(server, 'fix_plugin', {
      setup: "CREATE SEQUENCE ticket_seq; CREATE TABLE tickets (number bigint); INSERT INTO tickets SELECT generate_series(1, 70); CREATE SEQUENCE other_seq;",
    });
    const ticketCheck = defineCheck({
      id: 'ticket-numbers',
      title: 'ticket_seq is past the ticket numbers',
      description: 'test plugin',
      docs: 'test plugin',
      fixes: ['sequence-advance'],
      async run(ctx) {
        const [r] = await ctx.query<{ behind: boolean }>('SELECT (SELECT max(number) FROM tickets) > (SELECT last_value FROM ticket_seq) AS behind');
        if (!r!.behind) return { status: 'ok', message: 'ticket_seq is past the tickets' };
        const fix: SequenceAdvanceFix = { kind: 'sequence-advance', schema: 'public', sequence: 'ticket_seq', ascending: true, covers: ['(SELECT max(number) FROM public.tickets)'], summary: 'ticket_seq is behind the tickets' };
        return [
          { status: 'error', object: 'public.ticket_seq', message: 'ticket_seq is behind', fix },
          { status: 'warning', object: 'public.other_seq', message: 'other_seq: a malformed fix', fix: { ...fix, sequence: 'other_seq', covers: [] } },
        ];
      },
    });
    // A check that does not declare fixes is not run by fix, whatever its findings carry.
    const undeclared = defineCheck({
      id: 'undeclared',
      title: 'undeclared',
      description: 'test plugin',
      docs: 'test plugin',
      async run() {
        return { status: 'error', message: 'never seen by fix', fix: { kind: 'sequence-advance', schema: 'public', sequence: 'other_seq', ascending: true, covers: ['100'], summary: 'x' } };
      },
    });
    const report = await fixSequences({ dsn: dsnFor(server, db), env: {}, apply: true, checks: [ticketCheck, undeclared] });
    const t = report.targets[0]!;
    expect(t.plan.map((p) => [p.check, p.object, p.sql])).toEqual([['ticket-numbers', 'public.ticket_seq', `SELECT setval('"public"."ticket_seq"', GREATEST((SELECT last_value FROM "public"."ticket_seq"), (SELECT max(number) FROM public.tickets)));`]]);
    expect(t.unfixable.filter((u) => u.check === 'ticket-numbers')).toEqual([{ check: 'ticket-numbers', status: 'error', object: 'public.other_seq', message: expect.stringMatching(/its fix cannot be applied: it has no covers/) }]);
    expect(t.applied!.map((a) => [a.object, a.before.lastValue, a.after.lastValue, a.changed])).toEqual([['public.ticket_seq', '1', '70', true]]);
    expect(report.exitCode).toBe(1);
    expect((await lastValues(server, db))['public.other_seq']).toBeNull();
  });

  it('fix --plugin: a plugin module\'s declared fixes are applied from the command line', async () => {
    const db = await createDatabase(server, 'fix_plugin_cli', { setup: 'CREATE SEQUENCE ticket_seq; CREATE TABLE tickets (number bigint); INSERT INTO tickets SELECT generate_series(1, 40);' });
    const plugin = join(mkdtempSync(join(tmpdir(), 'pgpf-fix-plugin-')), 'tickets.mjs');
    writeFileSync(
      plugin,
      `export default {
  id: 'ticket-numbers', title: 'tickets', description: 'test plugin', docs: 'test plugin', fixes: ['sequence-advance'],
  async run(ctx) {
    const [r] = await ctx.query('SELECT (SELECT max(number) FROM tickets) > (SELECT last_value FROM ticket_seq) AS behind');
    if (!r.behind) return { status: 'ok', message: 'ticket_seq is past the tickets' };
    return { status: 'error', object: 'public.ticket_seq', message: 'ticket_seq is behind',
      fix: { kind: 'sequence-advance', schema: 'public', sequence: 'ticket_seq', ascending: true, covers: ['(SELECT max(number) FROM public.tickets)'], summary: 'public.ticket_seq: behind the tickets' } };
  },
};
`,
    );
    const r = await runCli(['fix', '--dsn', dsnFor(server, db), '--plugin', plugin, '--apply']);
    expect(r.stdout).toMatch(/public\.ticket_seq: 1 → 40/);
    expect(r.code).toBe(0);
    const again = await runCli(['fix', '--dsn', dsnFor(server, db), '--plugin', plugin]);
    expect(again.stdout).toContain('Nothing to fix');
  });

  it('databases: split in two: each database gets its own plan and transaction', async () => {
    const setup = scenario('sequence-drift/fresh-install.sql', 'sequence-drift/downgrade.sql');
    const main = await createDatabase(server, 'fix_main', { setup });
    const state = await createDatabase(server, 'fix_state', { setup });
    const entry = (db: string, store: string) =>
      `  ${store}:\n    name: psycopg2\n    data_stores: [${store}]\n    args:\n      user: postgres\n      dbname: ${db}\n      host: ${server.host}\n      port: ${server.port}\n`;
    const config = join(mkdtempSync(join(tmpdir(), 'pgpf-fix-')), 'homeserver.yaml');
    writeFileSync(config, `databases:\n${entry(main, 'main')}${entry(state, 'state')}`);
    const report = await fixSequences({ configPaths: [config], env: {}, apply: true });
    expect(report.exitCode).toBe(0);
    const [m, st] = report.targets;
    expect(m!.applied!.map((a) => a.object)).toContain('public.events_stream_seq');
    expect(m!.applied!.map((a) => a.object)).not.toContain('public.state_group_id_seq');
    expect(st!.applied!.map((a) => a.object).sort()).toEqual(['public.instance_map_instance_id_seq', 'public.state_group_id_seq']);
    expect([m!.remaining, st!.remaining]).toEqual([[], []]);
  });
});

describe('fix: a database that cannot be reached', () => {
  it('exit 3, with the error in the JSON document', async () => {
    const port = await freePort();
    const r = await runCli(['fix', '--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--apply', '--format', 'json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).targets[0].error).toMatchObject({ code: 'connect-refused' });
  });
});
