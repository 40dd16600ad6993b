import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { newestSourceMtime, ROOT, underBuildLock } from './built-cli.js';

/** What `npm run build:exe` makes (scripts/build-exe.mjs). */
export const BUILT_EXE = join(ROOT, 'dist', 'exe', 'pg-preflight-linux-x64');

/** The single executable is made for linux-x64 only, from a node binary that has the SEA fuse. */
export const EXE_SUPPORTED = process.platform === 'linux' && process.arch === 'x64';

/**
 * The single executable, rebuilt when any source is newer (under the lock builtCli() takes, so
 * builds into dist never overlap). Takes some seconds: call it once per test file, in beforeAll.
 */
export function builtExe(): string {
  const stale = () => !existsSync(BUILT_EXE) || statSync(BUILT_EXE).mtimeMs < newestSourceMtime();
  if (!stale()) return BUILT_EXE;
  underBuildLock(() => {
    if (!stale()) return;
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-exe.mjs')], { encoding: 'utf8', cwd: ROOT });
    if (r.status !== 0) throw new Error(`npm run build:exe failed:\n${r.stdout}${r.stderr}`);
  }, 180_000);
  return BUILT_EXE;
}
