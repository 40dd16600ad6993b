import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMeminfo, isOnThisHost } from '../../src/host-memory.js';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import { humanSize, pgSize, roundRecommendation, unitBytes } from '../../src/units.js';
import { runCli } from '../helpers/cli.js';
import { dsnFor, sql } from '../helpers/servers.js';
import CHECK from '../../checks/memory-settings/index.js';
import { applyPrinted, runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function show(server: ThrowawayServer, name: string): Promise<string> {
  const [r] = await sql(server, 'postgres', `SELECT current_setting('${name}') AS v`);
  return r!.rows[0].v as string;
}

/** pg_reload_conf() only signals the postmaster; wait until new sessions see the value. */
async function waitForSetting(server: ThrowawayServer, name: string, expected: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await show(server, name)) === expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await show(server, name)).toBe(expected);
}

describe('sizes in the units PostgreSQL writes', () => {
  it('converts pg_settings units and prints sizes as SHOW does', () => {
    expect(unitBytes('8kB')).toBe(8192);
    expect(unitBytes('kB')).toBe(1024);
    expect(unitBytes('16MB')).toBe(16 * MiB);
    expect(unitBytes('ms')).toBeUndefined();
    expect(pgSize(524288 * 8192)).toBe('4GB');
    expect(pgSize(4854 * 1024)).toBe('4854kB');
    expect(pgSize(1536 * MiB)).toBe('1536MB');
    expect(humanSize(23.54 * GiB)).toBe('23.5GB');
    expect(humanSize(128 * MiB)).toBe('128MB');
    // A quarter of a "24GB" host's MemTotal is written as 6GB, not 6026MB.
    expect(pgSize(roundRecommendation((24684092 * 1024) / 4))).toBe('6GB');
  });

  it('reads /proc/meminfo text and tells local connections from remote ones', () => {
    const m = parseMeminfo('MemTotal:       24684092 kB\nHugePages_Total:     512\nHugePages_Free:      500\nHugepagesize:       2048 kB\n');
    expect(m).toMatchObject({ totalBytes: 24684092 * 1024, hugePagesTotal: 512, hugePagesFree: 500, hugePageBytes: 2 * MiB });
    expect(parseMeminfo('no such thing')).toBeUndefined();
    expect(isOnThisHost({ host: '/var/run/postgresql' })).toBe(true);
    expect(isOnThisHost({ host: '127.0.0.1' })).toBe(true);
    expect(isOnThisHost({ host: '::1' })).toBe(true);
    expect(isOnThisHost({ host: 'localhost' })).toBe(true);
    expect(isOnThisHost({ host: 'db.example.org' })).toBe(false);
    expect(isOnThisHost({ host: '10.0.0.5' })).toBe(false);
  });
});

// ALTER SYSTEM changes the whole cluster: each major gets its own server, with the stock
// max_connections and shared_buffers that initdb writes (the harness's own are smaller).
describe.each(matrixMajors())('memory-settings on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { max_connections: 100, shared_buffers: '128MB' } });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await sql(server, 'postgres', 'ALTER SYSTEM RESET ALL');
    await sql(server, 'postgres', 'SELECT pg_reload_conf()');
    await waitForSetting(server, 'work_mem', '4MB');
    await waitForSetting(server, 'effective_cache_size', '4GB');
  });

  it('host memory unknown: info listing the values, naming the defaults, saying how to give it', async () => {
    const r = (await runCheck(CHECK, server, 'postgres')).result;
    expect(r.status).toBe('info');
    expect(r.message).toContain('memory is unknown (the server is on this machine, but no /proc/meminfo was read');
    expect(r.message).toMatch(/shared_buffers 128MB \((the compiled-in|initdb's) default\)/);
    expect(r.message).toContain('effective_cache_size 4GB (the compiled-in default)');
    expect(r.message).toContain('autovacuum_work_mem -1 (uses maintenance_work_mem; the compiled-in default)');
    expect(r.message).toContain('--db-host-memory 16GiB');
    expect(r.details?.stillDefault).toEqual(
      expect.arrayContaining(['shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'autovacuum_work_mem', 'max_connections']),
    );
    // The printed advice, followed: give the memory and the values are compared with it.
    expect(r.remediation[0]!.text).toContain('--db-host-memory');
    const run = await runCli(['check', '--dsn', dsnFor(server, 'postgres'), '--only', 'memory-settings', '--db-host-memory', '1GiB', '--format', 'json']);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout).results[0];
    expect(result.details.hostMemory).toBe('1GB');
    expect(result.details.hostMemorySource).toContain('--db-host-memory');
  });

  it('a 64GiB host left at the defaults: warnings; the printed ALTER SYSTEM lines fix what reloads, shared_buffers waits for a restart', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=64GiB'] })).result;
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/shared_buffers is 128MB \((the compiled-in|initdb's) default\) on a 64GB host, under a quarter of the 16GB/);
    expect(r.message).toContain('effective_cache_size is 4GB (the compiled-in default) on a 64GB host, under a quarter of the 48GB');
    expect(r.message).toContain('maintenance_work_mem is 64MB (the compiled-in default) on a 64GB host, under a quarter of the 2GB');
    const texts = await applyPrinted(server, 'postgres', r);
    expect(texts).toEqual([
      "ALTER SYSTEM SET shared_buffers = '16GB';",
      "ALTER SYSTEM SET effective_cache_size = '48GB';",
      "ALTER SYSTEM SET maintenance_work_mem = '2GB';",
      'SELECT pg_reload_conf();',
    ]);
    expect(r.remediation.find((s) => s.kind === 'text')?.text).toContain('shared_buffers only changes when PostgreSQL restarts');
    await waitForSetting(server, 'effective_cache_size', '48GB');
    await waitForSetting(server, 'maintenance_work_mem', '2GB');

    const after = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=64GiB'] })).result;
    expect(after.status).toBe('warning');
    expect(after.message).not.toContain('effective_cache_size is');
    expect(after.message).not.toContain('maintenance_work_mem is');
    expect(after.remediation.filter((s) => s.kind === 'sql').map((s) => s.text)).toEqual(["ALTER SYSTEM SET shared_buffers = '16GB';"]);
    // The restart-only value is written where the next start reads it (not executed: the
    // throwaway harness cannot restart a server on the same data directory).
    const [file] = await sql(server, 'postgres', "SELECT setting FROM pg_file_settings WHERE name = 'shared_buffers' AND sourcefile LIKE '%postgresql.auto.conf'");
    expect(file!.rows).toEqual([{ setting: '16GB' }]);
  });

  it('a worst case above RAM (work_mem x max_connections): the printed work_mem, reloaded, passes', async () => {
    for (const stmt of ["ALTER SYSTEM SET work_mem = '256MB'", "ALTER SYSTEM SET effective_cache_size = '1536MB'", 'SELECT pg_reload_conf()']) {
      await sql(server, 'postgres', stmt);
    }
    await waitForSetting(server, 'work_mem', '256MB');
    await waitForSetting(server, 'effective_cache_size', '1536MB');
    const r = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=2GiB'] })).result;
    expect(r.status).toBe('warning');
    expect(r.message).toContain('128MB + 100 x 256MB + 3 x 64MB = 25.3GB, more than the host\'s 2GB');
    expect(r.message).toContain('work_mem 5.9MB brings it to 912.6MB');
    expect(await applyPrinted(server, 'postgres', r)).toEqual(["ALTER SYSTEM SET work_mem = '6068kB';", 'SELECT pg_reload_conf();']);
    await waitForSetting(server, 'work_mem', '6068kB');
    const after = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=2GiB'] })).result;
    expect(after.status).toBe('ok');
    expect(after.message).toContain('within the usual rules of thumb for a 2GB host');
  });

  it('effective_cache_size above RAM on a small host: warning, fixed by the printed line', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=1GiB'] })).result;
    expect(r.status).toBe('warning');
    expect(r.message).toContain("effective_cache_size is 4GB, more than the host's 1GB");
    expect(await applyPrinted(server, 'postgres', r)).toEqual(["ALTER SYSTEM SET effective_cache_size = '768MB';", 'SELECT pg_reload_conf();']);
    await waitForSetting(server, 'effective_cache_size', '768MB');
    expect(((await runCheck(CHECK, server, 'postgres', { set: ['host_memory=1GiB'] })).result).status).toBe('ok');
  });

  it('the same defaults on a 4GiB host are info, not a warning (small hosts share memory with Synapse)', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: ['host_memory=4GiB'] })).result;
    expect(r.status).toBe('info');
    expect(r.message).toContain('shared_buffers is 128MB');
    expect(r.message).toContain('under a quarter of the 1GB');
    // large_host lowered: the same is a warning.
    expect(((await runCheck(CHECK, server, 'postgres', { set: ['host_memory=4GiB', 'large_host=4GiB'] })).result).status).toBe('warning');
  });

  it('this machine\'s /proc/meminfo counts for a server reached over loopback (CLI), --db-host-memory wins', async () => {
    const fake = { totalBytes: 64 * GiB, source: '/proc/meminfo', hugePagesTotal: 0, hugePagesFree: 0 };
    const r = (await runCheck(CHECK, server, 'postgres', { inputs: { localHostMemory: fake } })).result;
    expect(r.status).toBe('warning');
    expect(r.message).toContain('host memory 64GB: MemTotal in /proc/meminfo of this machine, as the server is reached over loopback (127.0.0.1)');
    expect(((await runCheck(CHECK, server, 'postgres', { set: ['host_memory=1GiB'], inputs: { localHostMemory: fake } })).result).details?.hostMemory).toBe('1GB');
  });

  it.skipIf(!existsSync('/proc/meminfo'))('the CLI reads /proc/meminfo itself when the server is local', async () => {
    const run = await runCli(['check', '--dsn', dsnFor(server, 'postgres'), '--only', 'memory-settings', '--format', 'json']);
    const result = JSON.parse(run.stdout).results[0];
    expect(result.details.hostMemorySource).toContain('MemTotal in /proc/meminfo');
    // --set is the more specific and wins over --db-host-memory.
    const both = await runCli(['check', '--dsn', dsnFor(server, 'postgres'), '--only', 'memory-settings', '--db-host-memory', '64GiB', '--set', 'memory-settings.host_memory=2GiB', '--format', 'json']);
    expect(JSON.parse(both.stdout).results[0].details.hostMemory).toBe('2GB');
    const bad = await runCli(['check', '--dsn', dsnFor(server, 'postgres'), '--db-host-memory', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--db-host-memory must be a size such as 16GiB');
  });
});
