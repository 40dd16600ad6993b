// initdb and postgres refuse to run as root, so as root the throwaway servers run as an
// unprivileged account. That account must be able to reach the binaries: a checkout in a
// directory only root can enter (/root/..., any mktemp -d) hides node_modules from it, and the
// loader then fails with "libicuuc.so.60: cannot open shared object file".
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerBinaries } from './binaries.js';

export interface RunAs { uid: number; gid: number; name: string }

/** As root: an existing unprivileged account to run the server as (it must be in /etc/passwd). */
export function runAsUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.find((l) => l.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(':');
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error('running as root, and neither a "postgres" nor a "nobody" account exists to run the server as');
}

const SETPRIV = '/usr/bin/setpriv';

/** argv that runs `argv` as `runAs` (when set) and, with `deathSignal`, dies with its parent. */
export function wrap(runAs: RunAs | undefined, argv: string[], deathSignal: boolean): string[] {
  if (!existsSync(SETPRIV)) {
    if (runAs) throw new Error('running as root needs setpriv (util-linux) to drop privileges');
    return argv;
  }
  const opts: string[] = [];
  if (runAs) opts.push(`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups');
  // The server dies with the process that started it, even when that one is SIGKILLed.
  if (deathSignal) opts.push('--pdeathsig', 'SIGINT');
  return [SETPRIV, ...opts, ...argv];
}

function runsAs(runAs: RunAs, postgres: string): boolean {
  const argv = wrap(runAs, [postgres, '--version'], false);
  return spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }).status === 0;
}

/** Hard links where the file system allows (no copy of 60-90 MB), else copies; symlinks as they are. */
function mirrorTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const st = lstatSync(src);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (st.isDirectory()) mirrorTree(src, dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

/** A root-owned directory the account can traverse, for mirrored installs. */
function cacheRoot(): string {
  const root = join(tmpdir(), 'pg-preflight-servers');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const st = statSync(root);
  // Someone else's directory in a shared /tmp could hold binaries of their choosing.
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) throw new Error(`${root} is not owned by root or is writable by others; remove it and try again`);
  return root;
}

/**
 * The binaries as `runAs` can run them: where they are if it can reach them, else a mirror of the
 * install (bin, lib, share) under the temp directory, made once per install and version.
 */
export function binariesFor(runAs: RunAs | undefined, binaries: ServerBinaries): ServerBinaries {
  if (!runAs || runsAs(runAs, binaries.postgres)) return binaries;
  const install = join(binaries.binDir, '..');
  const key = createHash('sha256').update(install).digest('hex').slice(0, 12);
  const mirror = join(cacheRoot(), `${binaries.source}-${binaries.version}-${key}`);
  const mirrored = (dir: string): ServerBinaries => ({
    ...binaries,
    binDir: join(dir, 'bin'),
    initdb: join(dir, 'bin', 'initdb'),
    postgres: join(dir, 'bin', 'postgres'),
  });
  if (!existsSync(mirror)) {
    // Built beside and renamed into place: test workers starting servers at once never see half a tree.
    const partial = `${mirror}.${process.pid}.${Date.now()}`;
    try {
      mirrorTree(install, partial);
      renameSync(partial, mirror);
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(mirror)) throw e;
    }
  }
  const result = mirrored(mirror);
  if (!runsAs(runAs, result.postgres)) {
    throw new Error(
      `the "${runAs.name}" account cannot run ${result.postgres} even from a copy under ${tmpdir()}: ` +
        `make ${tmpdir()} traversable by it (chmod o+x), or run as a user who is not root`,
    );
  }
  return result;
}
