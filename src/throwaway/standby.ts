// A streaming hot standby of a throwaway server, for checks that must tell a primary from a
// replica. The npm server builds ship no pg_basebackup, so this needs a distribution install of
// the client tools; pg_basebackup copies servers of its own major version and older ones.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runAsUser, startThrowawayServer, wrap, type StartOptions, type ThrowawayServer } from './server.js';

/** Trust for everything local, replication connections included (pg_basebackup and the standby's walreceiver). */
export const REPLICATION_HBA = [
  'local all all trust',
  'host all all 127.0.0.1/32 trust',
  'host all all ::1/128 trust',
  'local replication all trust',
  'host replication all 127.0.0.1/32 trust',
  'host replication all ::1/128 trust',
  '',
].join('\n');

/** A pg_basebackup able to copy a server of `major`: the same major first, else the oldest newer one. */
export function findBaseBackup(major: number): string | undefined {
  for (let m = major; m <= 30; m++) {
    const file = `/usr/lib/postgresql/${m}/bin/pg_basebackup`;
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** A server to replicate from: the throwaway defaults (wal_level replica, 10 WAL senders) and replication in pg_hba.conf. */
export function startPrimary(options: StartOptions = {}): Promise<ThrowawayServer> {
  return startThrowawayServer({ ...options, hba: REPLICATION_HBA });
}

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} failed (${code}): ${stderr}`))));
  });
}

/**
 * Copies `primary` with `pg_basebackup -R` (standby.signal and primary_conninfo, or recovery.conf
 * before PostgreSQL 12) and starts the copy with the same binaries, stopped like any throwaway
 * server. Resolves once the standby streams from the primary.
 */
export async function startStandby(primary: ThrowawayServer, basebackup = findBaseBackup(primary.major)): Promise<ThrowawayServer> {
  if (!basebackup) throw new Error(`no pg_basebackup that can copy PostgreSQL ${primary.major} is installed`);
  // The copy must belong to the account the server runs as, so pg_basebackup runs as that one too.
  const runAs = runAsUser();
  const standby = await startThrowawayServer({
    major: primary.major,
    hba: REPLICATION_HBA,
    createDataDir: async (dataDir) => {
      await run(wrap(runAs, [basebackup, '-D', dataDir, '-h', primary.socketDir, '-p', String(primary.port), '-U', primary.superuser, '-X', 'stream', '-R', '--no-sync'], false));
      if (!basebackup.includes(`/${primary.major}/`)) trimConninfo(dataDir, primary);
    },
  });
  try {
    await waitStreaming(standby);
  } catch (e) {
    await standby.stop();
    throw e;
  }
  return standby;
}

/**
 * A newer pg_basebackup writes every keyword its own libpq knows into primary_conninfo
 * (channel_binding, say), and an older server's walreceiver refuses the unknown ones: keep the
 * address and the user.
 */
function trimConninfo(dataDir: string, primary: ThrowawayServer): void {
  const file = ['recovery.conf', 'postgresql.auto.conf'].map((f) => join(dataDir, f)).find((f) => existsSync(f) && /^primary_conninfo/m.test(readFileSync(f, 'utf8')));
  if (!file) throw new Error(`pg_basebackup -R wrote no primary_conninfo into ${dataDir}`);
  const conninfo = `host=${primary.socketDir} port=${primary.port} user=${primary.superuser}`;
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^primary_conninfo = .*$/m, `primary_conninfo = '${conninfo}'`));
}

async function waitStreaming(standby: ThrowawayServer): Promise<void> {
  const client = new pg.Client({ host: standby.host, port: standby.port, user: standby.superuser, database: 'postgres' });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query<{ status: string | null }>('SELECT (SELECT status FROM pg_stat_wal_receiver) AS status');
      if (rows[0]?.status === 'streaming') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = readFileSync(join(standby.socketDir, 'server.log'), 'utf8').slice(-2000);
    throw new Error(`the standby on port ${standby.port} never started streaming from its primary:\n${log}`);
  } finally {
    await client.end();
  }
}
