// Throwaway PostgreSQL clusters for the demo and the tests: initdb into a temp dir, start
// `postgres` directly (not pg_ctl, which daemonizes and outlives us), stop and delete.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync, readdirSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { resolveServerBinaries, type ServerBinaries, type ServerSpec } from './binaries.js';
import { binariesFor, runAsUser, wrap } from './run-as.js';

export { runAsUser, wrap, type RunAs } from './run-as.js';

export interface StartOptions {
  /** PostgreSQL major version; binaries come from the `pgNN` npm alias or Debian's install. */
  major?: number;
  /** Which server exactly (`npm:18`, `system:15`, a bin directory; see ServerSpec); wins over `major`. */
  server?: ServerSpec;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Replaces the generated pg_hba.conf (trust for everything local) before start. */
  hba?: string;
  /** Extra environment for the server process (LOCPATH for extra locales, say). */
  env?: Record<string, string>;
  /** Also listen on ::1 (some auth tests need IPv6 loopback). Default true. */
  ipv6?: boolean;
  /** Fills the data directory (not yet created) instead of initdb: a base backup, for a standby. */
  createDataDir?: (dataDir: string) => Promise<void>;
}

export interface ThrowawayServer {
  major: number;
  version: string;
  /** e.g. "PostgreSQL 15.18 (system, JIT)": which build a test ran on. */
  name: string;
  /** What it was started from (`npm:18`, `system:15`, `18`). */
  spec: string;
  host: string;
  port: number;
  socketDir: string;
  dataDir: string;
  hbaFile: string;
  superuser: string;
  binaries: ServerBinaries;
  /** Rewrites pg_hba.conf and reloads the server (SIGHUP). */
  writeHba(contents: string): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

const DIR_PREFIX = 'pgpf-';
const running = new Set<{ child: ChildProcess; dir: string }>();

process.once('exit', () => {
  // Last resort for a test runner that exits without stopping its servers: SIGQUIT needs no
  // cooperation from the event loop, and the directory holds nothing worth keeping.
  for (const r of running) {
    try { r.child.kill('SIGQUIT'); } catch { /* already gone */ }
    try { rmSync(r.dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

function baseDir(): string {
  // tmpfs makes initdb about twice as fast and keeps test data off the disk.
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

function processAlive(pid: number): boolean {
  // PID 1 in some sandboxes does not reap orphans: a zombie still answers kill(pid, 0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Removes directories left by runs that died before they could clean up. */
function sweepStale(base: string): void {
  let entries: string[];
  try { entries = readdirSync(base); } catch { return; }
  for (const name of entries) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, name);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (owner && processAlive(owner)) continue;
      const pidFile = join(dir, 'data', 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid && processAlive(pid)) process.kill(pid, 'SIGQUIT');
      }
      rmSync(dir, { recursive: true, force: true });
    } catch { /* another run may be sweeping the same directory */ }
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const TRUST_HBA = [
  'local all all trust',
  'host all all 127.0.0.1/32 trust',
  'host all all ::1/128 trust',
  '',
].join('\n');

async function waitReady(dataDir: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      // Line 8 of postmaster.pid turns to "ready" once the server accepts connections (PG10+).
      const lines = readFileSync(pidFile, 'utf8').split('\n');
      if (lines[7]?.trim() === 'ready') return;
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
  throw new Error(`throwaway PostgreSQL did not become ready${exited ? ' (it exited)' : ''}:\n${log}`);
}

export async function startThrowawayServer(options: StartOptions = {}): Promise<ThrowawayServer> {
  const runAs = runAsUser();
  const binaries = binariesFor(runAs, await resolveServerBinaries(options.server ?? options.major ?? 18));
  const major = binaries.major;
  const base = baseDir();
  sweepStale(base);
  const dir = mkdtempSync(join(base, DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');

  if (options.createDataDir) {
    await options.createDataDir(dataDir).catch((e: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    });
  } else {
    const initArgs = [binaries.initdb, '-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'];
    const init = spawnSync(wrap(runAs, initArgs, false)[0]!, wrap(runAs, initArgs, false).slice(1), { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error?.message}`);
    }
  }
  const hbaFile = join(dataDir, 'pg_hba.conf');
  writeFileSync(hbaFile, options.hba ?? TRUST_HBA);

  const port = await freePort();
  const listen = options.ipv6 === false ? '127.0.0.1' : '127.0.0.1,::1';
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: listen,
    unix_socket_directories: dir,
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    max_connections: 40,
    shared_buffers: '16MB',
    ...options.settings,
  };
  const args = [binaries.postgres, '-D', dataDir];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const argv = wrap(runAs, args, true);
  const out = openSync(logFile, 'a');
  if (runAs) chownSync(logFile, runAs.uid, runAs.gid);
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', out, out],
    env: { ...process.env, LC_ALL: 'C', ...options.env },
  });
  closeSync(out);
  const entry = { child, dir };
  running.add(entry);
  try {
    await waitReady(dataDir, child, logFile, 30_000);
  } catch (e) {
    await stopChild(child);
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const reload = async () => {
    child.kill('SIGHUP');
    // The postmaster re-reads pg_hba.conf asynchronously; give it a moment before new logins.
    await new Promise((r) => setTimeout(r, 150));
  };
  let stopped = false;
  return {
    major,
    version: binaries.version,
    name: serverName(binaries),
    spec: String(options.server ?? options.major ?? 18),
    host: '127.0.0.1',
    port: Number(port),
    socketDir: dir,
    dataDir,
    hbaFile,
    superuser: 'postgres',
    binaries,
    async writeHba(contents: string) {
      writeFileSync(hbaFile, contents);
      await reload();
    },
    reload,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child);
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function serverName(b: Pick<ServerBinaries, 'version' | 'source' | 'jit'>): string {
  return `PostgreSQL ${b.version} (${b.source === 'npm' ? 'embedded' : 'system'}${b.jit ? ', JIT' : ''})`;
}

/** Fast shutdown (SIGINT), then SIGQUIT, then SIGKILL: an ident lookup can hold a fast shutdown. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (const [signal, wait] of [['SIGINT', 3000], ['SIGQUIT', 2000], ['SIGKILL', 2000]] as const) {
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), wait); })]);
    // A pending timer would keep the process alive for seconds after the server is gone.
    clearTimeout(timer);
    if (done) return;
  }
}
