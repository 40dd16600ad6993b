import { describe, expect, it } from 'vitest';
import { runCheck } from '../helpers/check.js';
import { fixtureSql, synapseSchemaSql } from '../helpers/fixtures.js';
import { createDatabase, sharedServers, sql } from '../helpers/servers.js';
import type { CheckResult, Finding } from '../../src/types.js';

const scenario = (...files: string[]) => [fixtureSql('synapse/schema.sql'), ...files.map((f) => fixtureSql(f))].join('\n');
const objects = (r: CheckResult, status: Finding['status']) => r.findings.filter((f) => f.status === status).map((f) => f.object).sort();
const FAILED_OVER = ['account_data_sequence', 'device_inbox_sequence', 'events_stream_seq', 'receipts_sequence'].map((s) => `public.${s}`);

/** nextval inserts into the four streams' tables: they work once the sequences are past every row. */
const STREAM_INSERTS = [
  "INSERT INTO events (event_id, room_id, stream_ordering) VALUES ('$new', '!r:x', nextval('events_stream_seq'))",
  "CREATE UNIQUE INDEX ON account_data (stream_id); INSERT INTO account_data (user_id, account_data_type, stream_id) VALUES ('@a:x', 'new', nextval('account_data_sequence'))",
  "CREATE UNIQUE INDEX ON receipts_linearized (stream_id); INSERT INTO receipts_linearized (stream_id, room_id, receipt_type, user_id) VALUES (nextval('receipts_sequence'), '!r:x', 'm.read', '@a:x')",
  "CREATE UNIQUE INDEX ON device_inbox (stream_id); INSERT INTO device_inbox (user_id, device_id, stream_id) VALUES ('@a:x', 'D', nextval('device_inbox_sequence'))",
].join(';\n');

describe.each(sharedServers())('stream-positions on PostgreSQL $major', (server) => {
  it('a fresh install: every written stream compared, none ahead', async () => {
    const db = await createDatabase(server, 'sp_fresh', { setup: scenario('sequence-drift/fresh-install.sql') });
    const r = await runCheck(server, db, 'stream-positions');
    expect(r.status).toBe('ok');
    expect(r.findings[0]!.details).toMatchObject({ streams: 8, ahead: 0 });
  });

  it('an instance name with XML and JSON metacharacters comes through exactly (the rows are read as XML-escaped JSON)', async () => {
    const hostile = `w<1>&amp;"q'\\\r\n\u00e9\u{1F600}`;
    const db = await createDatabase(server, 'sp_names', { setup: scenario('stream-positions/failover.sql') });
    await sql(server, db, `UPDATE stream_positions SET instance_name = ${"'"}${hostile.replace(/'/g, "''")}${"'"} WHERE instance_name = 'event_persister1' AND stream_name = 'events'`);
    const r = await runCheck(server, db, 'stream-positions');
    const events = r.findings.find((f) => f.object === 'public.events_stream_seq')!;
    expect(events.details).toMatchObject({ instances: [{ instance: 'master', streamId: 201 }, { instance: hostile, streamId: 200 }] });
  });

  it('failover (Synapse #18544): four streams 32 ahead of their sequences, every instance shown; the preferred setval fixes them', async () => {
    const db = await createDatabase(server, 'sp_failover', { setup: scenario('stream-positions/failover.sql') });
    const r = await runCheck(server, db, 'stream-positions');
    expect(r.status).toBe('error');
    expect(objects(r, 'error')).toEqual(FAILED_OVER);
    const events = r.findings.find((f) => f.object === 'public.events_stream_seq')!;
    expect(events.details).toMatchObject({
      stream: 'events',
      lastValue: 169,
      isCalled: true,
      maxPosition: 201,
      gap: 32,
      instances: [{ instance: 'event_persister1', streamId: 200 }, { instance: 'master', streamId: 201 }],
    });
    expect(events.message).toContain('(event_persister1 200, master 201)');
    expect(events.message).toMatch(/Synapse refuses to start \(IncorrectDatabaseSetup/);
    for (const f of r.findings.filter((x) => x.status === 'error')) expect(f.details).toMatchObject({ gap: 32 });
    const [preferred, why, workaround] = events.remediation!;
    expect(preferred).toMatchObject({ kind: 'sql', title: expect.stringMatching(/^Preferred/) });
    expect(preferred!.text).toBe(
      `SELECT setval('"public"."events_stream_seq"', GREATEST((SELECT last_value FROM "public"."events_stream_seq"), (SELECT max(stream_id) FROM "public"."stream_positions" WHERE stream_name = 'events')));`,
    );
    expect(why!.kind).toBe('text');
    expect(workaround).toMatchObject({ kind: 'sql', text: `DELETE FROM "public"."stream_positions" WHERE stream_name = 'events';` });
    expect(workaround!.title).toMatch(/stop Synapse and ALL workers.*repeating/);

    for (const f of r.findings) {
      const step = f.remediation?.[0];
      if (step) await sql(server, db, step.text);
    }
    expect((await runCheck(server, db, 'stream-positions')).status).toBe('ok');
    // The positions were at the tables' maxima: the same setval also put the sequences past every row.
    expect((await runCheck(server, db, 'sequence-drift')).status).toBe('ok');
    await sql(server, db, STREAM_INSERTS);
  });

  it("failover, Synapse's own DELETE workaround: the check passes once the stream's rows are gone", async () => {
    const db = await createDatabase(server, 'sp_delete', { setup: scenario('stream-positions/failover.sql') });
    const r = await runCheck(server, db, 'stream-positions');
    for (const f of r.findings) {
      const step = f.remediation?.find((s) => s.text.startsWith('DELETE'));
      if (step) await sql(server, db, step.text);
    }
    const after = await runCheck(server, db, 'stream-positions');
    expect(after.status).toBe('ok');
    expect(after.findings[0]!.details).toMatchObject({ streams: 2, ahead: 0 });
  });

  it("backfill's negated positions never trip, as in Synapse; the stricter comparison is info", async () => {
    const db = await createDatabase(server, 'sp_backfill', { setup: scenario('stream-positions/backfill-negative.sql') });
    const r = await runCheck(server, db, 'stream-positions');
    expect(r.status).toBe('info');
    const info = r.findings.find((f) => f.status === 'info')!;
    expect(info.object).toBe('public.events_backfill_stream_seq');
    expect(info.details).toMatchObject({ stream: 'backfill', maxPosition: -480, magnitude: 500, effectiveLastValue: 100 });
    expect(info.message).toMatch(/stricter than Synapse's/);
  });

  it('a sequence that has not handed out a value: last value - 1 counts, as in Synapse', async () => {
    const db = await createDatabase(server, 'sp_called', {
      setup: `${fixtureSql('synapse/schema.sql')}
        SELECT setval('receipts_sequence', 10, false);
        INSERT INTO stream_positions VALUES ('receipts', 'master', 10), ('presence_stream', 'master', 0);`,
    });
    const r = await runCheck(server, db, 'stream-positions');
    expect(objects(r, 'error')).toEqual(['public.receipts_sequence']);
    expect(r.findings.find((f) => f.status === 'error')!.details).toMatchObject({ lastValue: 10, isCalled: false, effectiveLastValue: 9, gap: 1 });
  });

  it('skipped on a database that is not Synapse\'s; ok on a Synapse one too old to have stream_positions', async () => {
    const plain = await createDatabase(server, 'sp_plain');
    expect((await runCheck(server, plain, 'stream-positions')).status).toBe('skipped');
    const old = await createDatabase(server, 'sp_old', { setup: synapseSchemaSql(57) });
    const r = await runCheck(server, old, 'stream-positions');
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/no stream_positions table \(Synapse before 1\.21\)/);
  });
});
