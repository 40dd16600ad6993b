import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostMemory } from '../../src/host-memory.js';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import { sharedServers, sql } from '../helpers/servers.js';
import { runPasted } from '../helpers/shell.js';
import CHECK from '../../checks/huge-pages.js';
import { runCheck } from '../../src/testing/index.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

const MiB = 1024 ** 2;
type Server = { host: string; port: number };

async function show(server: Server, name: string): Promise<string> {
  const [r] = await sql(server, 'postgres', `SELECT current_setting('${name}') AS v`);
  return r!.rows[0].v as string;
}

/** What /proc/meminfo would say on a machine with this many huge pages reserved and free. */
function meminfo(total: number, free: number): HostMemory {
  return { totalBytes: 8 * 1024 * MiB, hugePageBytes: 2 * MiB, hugePagesTotal: total, hugePagesFree: free, source: '/proc/meminfo' };
}

// The shared servers run with shared_buffers = 16MB; min_shared_buffers=8MB makes that "large".
const LARGE = ['min_shared_buffers=8MB'];

describe.each(sharedServers())('huge-pages on PostgreSQL $major', (server) => {
  it('a small shared_buffers: ok, nothing to set up', async () => {
    const r = (await runCheck(CHECK, server, 'postgres')).result;
    expect(r.status).toBe('ok');
    expect(r.message).toBe('shared_buffers is 16MB, under the 2GB from which huge pages are worth setting up');
  });

  it('a large shared_buffers with huge_pages = try and none reserved: info with the exact reservation', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: LARGE, inputs: { localHostMemory: meminfo(0, 0) } })).result;
    expect(r.status).toBe('info');
    const shell = r.remediation.filter((s) => s.kind === 'shell');
    if (server.major >= 15) {
      // The count the server itself computes for its shared memory.
      const needed = await show(server, 'shared_memory_size_in_huge_pages');
      // huge_pages_status exists from 17; 15 and 16 know the count but not whether they got them.
      expect(r.message).toContain(server.major >= 17 ? 'huge_pages = try, but the server runs without them (huge_pages_status = off)' : `PostgreSQL ${server.major} does not report whether it got them`);
      expect(r.message).toContain(`It needs ${needed} huge pages of 2MB`);
      // Not executed: it would change this machine's kernel settings. Its form is checked instead.
      expect(shell[0]!.text).toBe(
        `echo 'vm.nr_hugepages = ${needed}' | sudo tee /etc/sysctl.d/60-postgresql-huge-pages.conf\nsudo sysctl -p /etc/sysctl.d/60-postgresql-huge-pages.conf`,
      );
    } else {
      expect(r.message).toContain('PostgreSQL 10 does not report whether it got them');
      expect(r.message).toContain('(this machine reserves none: HugePages_Total is 0)');
      expect(r.message).toContain('It needs about 8 (shared_buffers alone) huge pages of 2MB');
      // Before 15 the docs' VmPeak method is printed; it runs here, on the server's own machine.
      const run = runPasted(shell[0]!.text);
      expect(run.stderr).toBe('');
      expect(Number(run.stdout.trim())).toBeGreaterThanOrEqual(8);
    }
    expect(r.remediation.at(-1)!.text).toContain('Restart PostgreSQL');
  });

  it('huge pages reserved on this machine but too few free for the server: warning', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: LARGE, inputs: { localHostMemory: meminfo(4, 4) } })).result;
    expect(r.status).toBe('warning');
    expect(r.message).toMatch(/reserves 4 huge pages \(vm.nr_hugepages\) but only 4 are free, and the server needs (\d+|about 8 \(shared_buffers alone\)): huge_pages = on would stop it from starting/);
  });

  it.runIf(server.major < 17)('before huge_pages_status, pages in use on this machine count as the server\'s: ok', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: LARGE, inputs: { localHostMemory: meminfo(100, 80) } })).result;
    expect(r.status).toBe('ok');
    expect(r.message).toContain("20 of this machine's 100 huge pages are in use: most likely by this server");
  });
});

describe.each(matrixMajors())('huge-pages with huge_pages = off on PostgreSQL %i', (major) => {
  let server: ThrowawayServer;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { huge_pages: 'off' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('info with the advice; the printed ALTER SYSTEM line is written for the next start', async () => {
    const r = (await runCheck(CHECK, server, 'postgres', { set: LARGE })).result;
    expect(r.status).toBe('info');
    expect(r.message).toContain('huge_pages = off with shared_buffers 16MB');
    const steps = r.remediation.filter((s) => s.kind === 'sql').map((s) => s.text);
    expect(steps).toEqual(["ALTER SYSTEM SET huge_pages = 'try';"]);
    for (const text of steps) await sql(server, 'postgres', text);
    // huge_pages is read at start only; the harness cannot restart on the same data directory,
    // so what is checked is that the next start reads the new value.
    const [file] = await sql(server, 'postgres', "SELECT setting FROM pg_file_settings WHERE name = 'huge_pages' AND sourcefile LIKE '%postgresql.auto.conf'");
    expect(file!.rows).toEqual([{ setting: 'try' }]);
  });
});
