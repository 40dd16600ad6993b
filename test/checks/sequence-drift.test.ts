import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { CheckResult, Finding } from '../../src/types.js';
import { fixtureSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql, withClient, type SharedServer } from '../helpers/servers.js';
import CHECK from '../../checks/sequence-drift.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

type Server = Pick<SharedServer, 'host' | 'port'>;

const SYNAPSE = () => fixtureSql('synapse/schema.sql');
const scenario = (...files: string[]) => [SYNAPSE(), ...files.map((f) => fixtureSql(f))].join('\n');

const withStatus = (r: CheckResult, status: Finding['status']) => r.findings.filter((f) => f.status === status);
const objects = (r: CheckResult, status: Finding['status']) => withStatus(r, status).map((f) => f.object).sort();

async function lastValue(server: Server, db: string, seq: string): Promise<string> {
  const [r] = await sql(server, db, `SELECT last_value::text AS v FROM ${seq}`);
  return r!.rows[0].v;
}

/** An insert that takes its id from the sequence, for every table the downgrade scenario left behind. */
const DOWNGRADE_INSERTS = [
  "INSERT INTO events (event_id, room_id, stream_ordering) VALUES ('$new', '!r:example.org', nextval('events_stream_seq'))",
  "INSERT INTO events (event_id, room_id, stream_ordering) VALUES ('$newb', '!r:example.org', -nextval('events_backfill_stream_seq'))",
  "INSERT INTO ex_outlier_stream (event_stream_ordering, event_id) VALUES (nextval('events_stream_seq'), '$o2')",
  "CREATE UNIQUE INDEX ON room_tags_revisions (stream_id); INSERT INTO room_tags_revisions (user_id, room_id, stream_id) VALUES ('@a:x', '!r:x', nextval('account_data_sequence'))",
  "CREATE UNIQUE INDEX ON device_federation_outbox (stream_id); INSERT INTO device_federation_outbox (destination, stream_id) VALUES ('d', nextval('device_inbox_sequence'))",
  "CREATE UNIQUE INDEX ON deleted_pushers (stream_id); INSERT INTO deleted_pushers (stream_id, app_id, pushkey, user_id) VALUES (nextval('pushers_sequence'), 'a', 'k', '@a:x')",
  "CREATE UNIQUE INDEX ON event_auth_chains (chain_id); INSERT INTO event_auth_chains (event_id, chain_id, sequence_number) VALUES ('$c', nextval('event_auth_chain_id'), 1)",
  "INSERT INTO state_groups (id, room_id, event_id) VALUES (nextval('state_group_id_seq'), '!r:x', '$s')",
  "INSERT INTO users (name) VALUES ('@' || nextval('user_id_seq') || ':example.org')",
  "INSERT INTO instance_map (instance_name) VALUES ('new_worker')",
];

describe.each(sharedServers())('sequence-drift on PostgreSQL $major', (server) => {
  it('a fresh install: every Synapse sequence and the owned ones compared, none behind', async () => {
    const db = await createDatabase(server, 'sd_fresh', { setup: scenario('sequence-drift/fresh-install.sql') });
    const r = (await runCheck(CHECK, server, db)).result;
    expect(r.status).toBe('ok');
    // 20 sequences of the catalogue (facts 3.1 and 3.2), 2 implicit ones (3.3).
    expect(r.findings[0]!.details).toMatchObject({ sequences: 22, synapse: 20, owned: 2, behind: 0 });
    expect(r.message).toMatch(/22 sequences compared .*none behind/);
  });

  it('downgrade then upgrade: every lagging sequence with its numbers; the printed SQL fixes them all and nextval inserts work', async () => {
    const db = await createDatabase(server, 'sd_down', { setup: scenario('sequence-drift/fresh-install.sql', 'sequence-drift/downgrade.sql') });
    const r = (await runCheck(CHECK, server, db)).result;
    expect(r.status).toBe('error');
    expect(objects(r, 'error')).toEqual(
      [
        'account_data_sequence', 'device_inbox_sequence', 'event_auth_chain_id', 'events_backfill_stream_seq',
        'events_stream_seq', 'instance_map_instance_id_seq', 'pushers_sequence', 'state_group_id_seq',
      ].map((s) => `public.${s}`).sort(),
    );
    expect(objects(r, 'info')).toEqual(['public.user_id_seq']);
    const events = r.findings.find((f) => f.object === 'public.events_stream_seq')!;
    expect(events.details).toMatchObject({ source: 'synapse', lastValue: 120, isCalled: true, effectiveLastValue: 120, tableMax: 152, gap: 32 });
    expect(events.details!.tables).toEqual(['public.events.stream_ordering', 'public.current_state_delta_stream.stream_id', 'public.ex_outlier_stream.event_stream_ordering']);
    expect(events.message).toMatch(/Synapse 1\.109\+ repairs this at startup \(with a warning, first process only\), older releases refuse to start/);
    expect(events.remediation![0]!.text).toBe(
      `SELECT setval('"public"."events_stream_seq"', GREATEST((SELECT last_value FROM "public"."events_stream_seq"), ` +
        '(SELECT max("stream_ordering") FROM "public"."events"), (SELECT max("stream_id") FROM "public"."current_state_delta_stream"), (SELECT max("event_stream_ordering") FROM "public"."ex_outlier_stream")));',
    );
    const backfill = r.findings.find((f) => f.object === 'public.events_backfill_stream_seq')!;
    expect(backfill.details).toMatchObject({ tableMax: 30, effectiveLastValue: 5, gap: 25 });
    expect(backfill.remediation![0]!.text).toContain('(SELECT -min("stream_ordering") FROM "public"."events")');
    const instanceMap = r.findings.find((f) => f.object === 'public.instance_map_instance_id_seq')!;
    expect(instanceMap.details).toMatchObject({ source: 'owned', gap: 2 });
    expect(instanceMap.message).not.toMatch(/Synapse/);
    const users = r.findings.find((f) => f.object === 'public.user_id_seq')!;
    expect(users.details).toMatchObject({ tableMax: 17, effectiveLastValue: 2 });
    expect(users.message).toMatch(/Synapse never checks this sequence/);

    expect(await applyPrinted(server, db, r)).not.toHaveLength(0);
    const after = (await runCheck(CHECK, server, db)).result;
    expect(after.status).toBe('ok');
    expect(after.findings[0]!.details).toMatchObject({ behind: 0 });
    for (const insert of DOWNGRADE_INSERTS) await sql(server, db, insert);
  });

  it('port from SQLite: exactly the three sequences synapse_port_db does not set are behind (facts 4.4)', async () => {
    const db = await createDatabase(server, 'sd_port', { setup: scenario('sequence-drift/port-from-sqlite.sql') });
    const r = (await runCheck(CHECK, server, db)).result;
    expect(objects(r, 'error')).toEqual(['public.sticky_events_sequence', 'public.thread_subscriptions_sequence', 'public.un_partial_stated_room_stream_sequence']);
    expect(objects(r, 'info')).toEqual([]);
    // Restarted sequences have not handed out a value: the last value minus one counts.
    const thread = r.findings.find((f) => f.object === 'public.thread_subscriptions_sequence')!;
    expect(thread.details).toMatchObject({ lastValue: 1, tableMax: 12, gap: 11 });
    expect(await applyPrinted(server, db, r)).not.toHaveLength(0);
    expect(((await runCheck(CHECK, server, db)).result).status).toBe('ok');
    await sql(server, db, [
      "INSERT INTO un_partial_stated_room_stream (stream_id, instance_name, room_id) VALUES (nextval('un_partial_stated_room_stream_sequence'), 'master', '!n:x')",
      "INSERT INTO thread_subscriptions (stream_id, instance_name, room_id, event_id, user_id, subscribed) VALUES (nextval('thread_subscriptions_sequence'), 'master', '!n:x', '$n', '@a:x', true)",
      "INSERT INTO sticky_events (stream_id, instance_name, room_id, event_id) VALUES (nextval('sticky_events_sequence'), 'master', '!n:x', '$n')",
      // The restarted ones hand out exactly the next id.
      "INSERT INTO events (event_id, room_id, stream_ordering) VALUES ('$n', '!n:x', nextval('events_stream_seq'))",
      "INSERT INTO sliding_sync_connections (user_id, effective_device_id, created_ts) VALUES ('@a:x', 'D', 0)",
    ].join(';\n'));
  });

  it('a generic application: serial, identity, OWNED BY, a descending sequence, odd names in several schemas', async () => {
    const db = await createDatabase(server, 'sd_app', { setup: fixtureSql('sequence-drift/generic-app.sql') });
    const r = (await runCheck(CHECK, server, db)).result;
    expect(objects(r, 'error')).toEqual(
      ['"My Schema"."My ""odd"" Seq"', 'app."it\'s\\seq"', 'app.countdown_seq', 'app.events_id_seq', 'app.orders_id_seq', '"ünïcödé"."tâble_ïd_seq"'].sort(),
    );
    const countdown = r.findings.find((f) => f.object === 'app.countdown_seq')!;
    expect(countdown.details).toMatchObject({ increment: -1, lastValue: -2, tableMin: -40, gap: 38 });
    expect(countdown.remediation![0]!.text).toMatch(/^SELECT setval\('"app"."countdown_seq"', LEAST\(/);
    const odd = r.findings.find((f) => f.object === '"My Schema"."My ""odd"" Seq"')!;
    expect(odd.remediation![0]!.text).toBe(
      `SELECT setval('"My Schema"."My ""odd"" Seq"', GREATEST((SELECT last_value FROM "My Schema"."My ""odd"" Seq"), (SELECT max("Line ID") FROM "My Schema"."Order Lines")));`,
    );
    expect(r.findings.find((f) => f.object === 'app."it\'s\\seq"')!.remediation![0]!.text).toMatch(/^SELECT setval\(E'"app"\."it''s\\\\seq"'/);
    expect(r.findings.find((f) => f.object === 'app.events_id_seq')!.details).toMatchObject({ source: 'owned', tableMax: 30, gap: 30 });
    for (const f of withStatus(r, 'error')) expect(f.message).not.toMatch(/Synapse/);

    expect(await applyPrinted(server, db, r)).not.toHaveLength(0);
    expect(((await runCheck(CHECK, server, db)).result).status).toBe('ok');
    await sql(server, db, [
      "INSERT INTO app.orders (note) VALUES ('new')",
      "INSERT INTO app.events (payload) VALUES ('new')",
      'INSERT INTO app.countdown DEFAULT VALUES',
      'INSERT INTO app.quoted DEFAULT VALUES',
      `INSERT INTO "My Schema"."Order Lines" (note) VALUES ('new')`,
      'INSERT INTO "ünïcödé"."tâble" DEFAULT VALUES',
      'INSERT INTO app.empty DEFAULT VALUES',
      'INSERT INTO app.ahead DEFAULT VALUES',
    ].join(';\n'));
    // The sequence that was already ahead was left where it was.
    expect(await lastValue(server, db, 'app.ahead_id_seq')).toBe('1001');
  });

  it('a large table whose column leads no index is skipped with its row estimate, unless --thorough', async () => {
    const db = await createDatabase(server, 'sd_big', {
      setup: 'CREATE TABLE big (id serial, v int); INSERT INTO big (id) SELECT g FROM generate_series(1, 500) g; CREATE INDEX big_v_id ON big (v, id); ANALYZE big;',
    });
    const r = (await runCheck(CHECK, server, db, { params: { 'unindexed-row-limit': 100 } })).result;
    expect(r.status).toBe('skipped');
    const skipped = withStatus(r, 'skipped')[0]!;
    expect(skipped.object).toBe('public.big_id_seq');
    expect(skipped.message).toMatch(/about 500 rows and no btree index that starts with id.*--thorough reads the large one anyway/);
    expect(skipped.details).toMatchObject({ notRead: [{ column: 'public.big.id', reason: 'large-unindexed', rowEstimate: 500 }] });
    const thorough = (await runCheck(CHECK, server, db, { params: { 'unindexed-row-limit': 100 }, options: { thorough: true } })).result;
    expect(objects(thorough, 'error')).toEqual(['public.big_id_seq']);
    // Under the limit, a small table is simply scanned.
    expect(objects((await runCheck(CHECK, server, db)).result, 'error')).toEqual(['public.big_id_seq']);
  });

  it('sequences whose every table is empty are counted as compared (the catalog query counts them, lists the rest), for a superuser and for a plain role alike', async () => {
    const role = `sd_plain_${server.major}_${Date.now()}`;
    const empties = Array.from({ length: 30 }, (_, i) => `CREATE TABLE e${i} (id serial PRIMARY KEY);`).join('\n');
    const db = await createDatabase(server, 'sd_settled', {
      setup: `${empties}
        CREATE TABLE behind (id serial PRIMARY KEY); INSERT INTO behind (id) VALUES (5);
        -- Emptied: TRUNCATE leaves an empty file; DELETE leaves its pages, so the table is read.
        CREATE TABLE truncated (id serial PRIMARY KEY); INSERT INTO truncated (id) VALUES (9); TRUNCATE truncated;
        CREATE TABLE deleted (id serial PRIMARY KEY); INSERT INTO deleted (id) VALUES (9); DELETE FROM deleted;
        CREATE ROLE ${role} LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
    });
    // The superuser's catalog query stats the tables' files, the plain role's asks pg_relation_size.
    for (const user of ['postgres', role]) {
      const r = (await runCheck(CHECK, { host: server.host, port: server.port }, db, { user })).result;
      expect(objects(r, 'error')).toEqual(['public.behind_id_seq']);
      expect(r.findings[0]).toMatchObject({ code: 'sequences-ok', message: expect.stringMatching(/^33 sequences compared with their tables \(0 from Synapse's catalogue, 33 owned by columns\); 1 behind/), details: { sequences: 33, owned: 33, behind: 1 } });
    }
  });

  it('privileges: a sequence the role cannot read, and a table it cannot read, are reported skipped, not guessed', async () => {
    const role = `sd_reader_${server.major}_${Date.now()}`;
    const db = await createDatabase(server, 'sd_priv', {
      setup: `
        CREATE ROLE ${role} LOGIN;
        CREATE SCHEMA open; CREATE SCHEMA closed;
        CREATE TABLE open.readable (id serial PRIMARY KEY); INSERT INTO open.readable (id) VALUES (7);
        CREATE TABLE open.hidden (id serial PRIMARY KEY); INSERT INTO open.hidden (id) VALUES (7);
        CREATE TABLE closed.t (id serial PRIMARY KEY); INSERT INTO closed.t (id) VALUES (1);
        -- Empty: nothing can be above its sequence, so it counts as compared without any read.
        CREATE TABLE closed.nothing (id serial PRIMARY KEY);
        GRANT USAGE ON SCHEMA open TO ${role};
        GRANT SELECT ON open.readable, open.readable_id_seq, open.hidden_id_seq TO ${role};`,
    });
    const r = (await runCheck(CHECK, { host: server.host, port: server.port }, db, { user: role })).result;
    expect(objects(r, 'error')).toEqual(['open.readable_id_seq']);
    const skipped = r.findings.filter((f) => f.status === 'skipped');
    expect(skipped.map((f) => f.message)).toEqual([
      expect.stringMatching(/^open\.hidden_id_seq was not compared with open\.hidden\.id \(no SELECT privilege on it\)$/),
      expect.stringMatching(/^1 sequence could not be read \(the role has no SELECT privilege on it, or no USAGE on its schema\): closed\.t_id_seq; grant SELECT/),
    ]);
    expect(r.findings[0]!.message).toMatch(/^3 sequences compared with their tables/);
  });

  it('databases: split in two: state_group_id_seq is compared in the state database only', async () => {
    const setup = scenario('sequence-drift/fresh-install.sql', 'sequence-drift/downgrade.sql');
    const main = await createDatabase(server, 'sd_main', { setup });
    const state = await createDatabase(server, 'sd_state', { setup });
    const entry = (db: string, store: string) =>
      `  ${store}:\n    name: psycopg2\n    data_stores: [${store}]\n    args:\n      user: postgres\n      dbname: ${db}\n      host: ${server.host}\n      port: ${server.port}\n`;
    const config = join(mkdtempSync(join(tmpdir(), 'pgpf-sd-')), 'homeserver.yaml');
    writeFileSync(config, `databases:\n${entry(main, 'main')}${entry(state, 'state')}`);
    const r = (await runCheck(CHECK, server, main, { configPaths: [config] })).report;
    const [mainResult, stateResult] = r.targets.map((t) => t.results[0]!);
    expect(objects(mainResult!, 'error')).toContain('public.events_stream_seq');
    expect(objects(mainResult!, 'error')).not.toContain('public.state_group_id_seq');
    // The state database holds only state_group_id_seq of Synapse's; its owned sequences still count.
    expect(objects(stateResult!, 'error')).toEqual(['public.instance_map_instance_id_seq', 'public.state_group_id_seq']);
  });

  it('round trips do not grow with the number of sequences', async () => {
    const tables = (n: number) => `SELECT format('CREATE TABLE t%s (id serial PRIMARY KEY); INSERT INTO t%s (id) VALUES (1), (5);', g, g) FROM generate_series(1, ${n}) g`;
    const make = async (n: number) => {
      const db = await createDatabase(server, 'sd_rt');
      const [gen] = await sql(server, db, tables(n));
      await sql(server, db, gen!.rows.map((row) => row.format).join('\n'));
      return db;
    };
    const few = (await runCheck(CHECK, server, await make(3))).report;
    const many = (await runCheck(CHECK, server, await make(300), { params: { 'lock-budget': 50 } })).report;
    expect(many.targets[0]!.results[0]!.findings[0]!.details).toMatchObject({ sequences: 300, behind: 300 });
    // Facts (1-2), the catalog query, one message for all values and maxima, and on PostgreSQL
    // 10-17 a direct read of the sequences that have not handed out a value yet.
    expect(few.targets[0]!.roundTrips).toBeLessThanOrEqual(5);
    expect(many.targets[0]!.roundTrips).toBeLessThanOrEqual(few.targets[0]!.roundTrips);
  });
});

// A server whose shared lock table holds a few hundred locks: reading 600 serial tables in one
// statement runs out of it; the check's savepoint batches do not.
describe.each(matrixMajors())('sequence-drift under a small lock table, PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  const DB = 'locks';
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { max_locks_per_transaction: 10, max_connections: 20, max_wal_senders: 0 } });
    const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query(`CREATE DATABASE ${DB} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await c.end();
    // A transaction per table: creating them all in one would run out of locks too (a message of
    // several statements is one implicit transaction).
    await withClient(server, DB, async (client) => {
      for (let i = 0; i < 600; i++) await client.query(`CREATE TABLE t${i} (id serial PRIMARY KEY); INSERT INTO t${i} (id) VALUES (1)`);
    });
  });
  afterAll(async () => server?.stop());

  it('one statement over every table fails with "out of shared memory"', async () => {
    const union = Array.from({ length: 600 }, (_, i) => `SELECT max(id) FROM t${i}`).join(' UNION ALL ');
    await expect(sql(server, DB, `BEGIN READ ONLY; ${union}; ROLLBACK`)).rejects.toThrow(/out of shared memory/);
  });

  it('the check reads all 600 sequences and their tables', async () => {
    const r = (await runCheck(CHECK, server, DB)).result;
    expect(r.status).toBe('error');
    expect(r.findings[0]!.details).toMatchObject({ sequences: 600, behind: 600 });
  });
});
