import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import { createDatabase, sharedServers, sql, type SharedServer } from '../helpers/servers.js';
import CHECK from '../../checks/replication-slots.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

/** About `mb` MB of WAL, then a switch to a new segment. */
async function writeWal(server: ThrowawayServer, db: string, mb: number): Promise<void> {
  await sql(server, db, 'CREATE TABLE IF NOT EXISTS filler (x text)');
  await sql(server, db, `INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, ${mb * 900})`);
  await sql(server, db, 'SELECT pg_switch_wal()');
}

async function setKeepSize(server: ThrowawayServer, value: string | null): Promise<void> {
  await sql(server, 'postgres', value === null ? 'ALTER SYSTEM RESET max_slot_wal_keep_size' : `ALTER SYSTEM SET max_slot_wal_keep_size = '${value}'`);
  await sql(server, 'postgres', 'SELECT pg_reload_conf()');
  // The reload is asynchronous: wait until a new session sees it.
  for (let i = 0; i < 50; i++) {
    const [r] = await sql(server, 'postgres', 'SHOW max_slot_wal_keep_size');
    if ((r!.rows[0].max_slot_wal_keep_size === '-1') === (value === null)) return;
    await new Promise((res) => setTimeout(res, 20));
  }
}

// Slots belong to the whole server: these tests use servers of their own (logical decoding on),
// so that the shared servers' other tests never see them.
describe.each(sharedServers().map((s: SharedServer) => s.major))('replication-slots on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  let db: string;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { wal_level: 'logical' } });
    db = await createDatabase(server, 'slots');
  });
  afterAll(async () => {
    await server?.stop();
  });
  // Slots outlive a failed test: without this, one failure leaves its slot to fail every later test.
  afterEach(async () => {
    await sql(server, 'postgres', 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active');
    if (major >= 13) await setKeepSize(server, null);
  });

  it('no slots: ok, in one statement after the facts', async () => {
    const { result, roundTrips } = await runCheck(CHECK, server, db);
    expect(result.status).toBe('ok');
    expect(result.message).toBe('no replication slots');
    expect(roundTrips).toBe(2);
  });

  it('an inactive physical slot with WAL behind it: info below the threshold, warning above; the printed drop makes it pass', async () => {
    await sql(server, db, "SELECT pg_create_physical_replication_slot('old_standby', true)");
    await writeWal(server, db, 4);

    const below = (await runCheck(CHECK, server, db)).result;
    expect(below.status).toBe('info');
    expect(below.message).toMatch(/^replication slot "old_standby" \(physical, inactive\): it is inactive and keeps [\d.]+MB of WAL so far/);

    const { result: r } = await runCheck(CHECK, server, db, { params: { 'max-retained-wal': 1024 * 1024 } });
    expect(r.status).toBe('warning');
    expect(r.findings[0]!.object).toBe('old_standby');
    expect(r.message).toMatch(/keeps [\d.]+MB of WAL on disk \(above 1MB\)/);
    expect(Number(r.findings[0]!.details!.retainedBytes)).toBeGreaterThan(4 * 1024 * 1024);
    const drop = r.remediation[0]!;
    expect(drop.text).toBe("SELECT pg_drop_replication_slot('old_standby');");
    expect(drop.title).toContain('must be gone for good');

    if (major >= 13) {
      // No cap on what a slot may keep: the printed cap is the second fix; apply it, then undo it.
      expect(r.message).toContain('max_slot_wal_keep_size is unlimited');
      expect(await applyPrinted(server, db, r, { filter: (step) => !step.text.includes('pg_drop_replication_slot') })).toEqual([
        "ALTER SYSTEM SET max_slot_wal_keep_size = '4MB';",
        'SELECT pg_reload_conf();',
      ]);
      await new Promise((res) => setTimeout(res, 100));
      const [shown] = await sql(server, db, 'SHOW max_slot_wal_keep_size');
      expect(shown!.rows[0].max_slot_wal_keep_size).toBe('4MB');
      await setKeepSize(server, null);
    } else {
      expect(r.remediation).toHaveLength(1);
    }

    await applyPrinted(server, db, r, { filter: (step) => step.text.includes('pg_drop_replication_slot') });
    expect((await runCheck(CHECK, server, db, { params: { 'max-retained-wal': 1024 * 1024 } })).result.status).toBe('ok');
  });

  it('a logical slot holding catalog_xmin back: warning above max-xmin-age; the printed drop makes it pass', async () => {
    await sql(server, db, "SELECT pg_create_logical_replication_slot('gone_subscriber', 'test_decoding')");
    for (let i = 0; i < 5; i++) await sql(server, db, 'SELECT txid_current()');
    const { result: r } = await runCheck(CHECK, server, db, { params: { 'max-xmin-age': 3 } });
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/^replication slot "gone_subscriber" \(logical \(test_decoding, database slots_[^)]+\), inactive\): .*its catalog_xmin is \d+ transactions old \(above 3\)/);
    expect(r.remediation[0]!.title).toContain(`Run it connected to database ${db}`);
    await applyPrinted(server, db, r, { filter: (step) => step.text.includes('pg_drop_replication_slot') });
    expect((await runCheck(CHECK, server, db, { params: { 'max-xmin-age': 3 } })).result.status).toBe('ok');
  });

  it.skipIf(major < 13)('wal_status lost (PostgreSQL 13+): error; the printed drop makes it pass', async () => {
    await setKeepSize(server, '1MB');
    try {
      await sql(server, db, "SELECT pg_create_physical_replication_slot('lost_slot', true)");
      for (let i = 0; i < 3; i++) await writeWal(server, db, 17);
      await sql(server, db, 'CHECKPOINT');
      const { result: r } = await runCheck(CHECK, server, db);
      expect(r.status).toBe('error');
      expect(r.message).toMatch(/"lost_slot".*it has lost WAL it needs \((wal_status lost|invalidated: wal_removed)\): its consumer can never resume/);
      await applyPrinted(server, db, r);
      expect((await runCheck(CHECK, server, db)).result.status).toBe('ok');
    } finally {
      await setKeepSize(server, null);
    }
  });

  it.skipIf(major < 13)('a slot near max_slot_wal_keep_size (PostgreSQL 13+): error before it is lost; the printed drop makes it pass', async () => {
    await setKeepSize(server, '1GB');
    try {
      await sql(server, db, "SELECT pg_create_physical_replication_slot('near_limit', true)");
      await writeWal(server, db, 20);
      const params = { 'near-limit-fraction': 0.99 };
      const { result: r } = await runCheck(CHECK, server, db, { params: params });
      expect(r.status).toBe('error');
      expect(r.message).toMatch(/"near_limit".*only [\d.]+[MG]B more WAL can be written before it passes max_slot_wal_keep_size \(1GB\)/);
      expect((await runCheck(CHECK, server, db)).result.status).toBe('info');
      await applyPrinted(server, db, r);
      expect((await runCheck(CHECK, server, db, { params: params })).result.status).toBe('ok');
    } finally {
      await setKeepSize(server, null);
    }
  });
});
