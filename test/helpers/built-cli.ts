import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUILT_CLI = join(ROOT, 'dist', 'src', 'cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function stale(): boolean {
  if (!existsSync(BUILT_CLI)) return true;
  const source = Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'checks')));
  return statSync(BUILT_CLI).mtimeMs < source;
}

/**
 * The CLI as users run it (node dist/src/cli.js), for tests that start it as a separate process
 * (shell scripts, systemd lines). Rebuilt when any source is newer than dist, under a lock so that
 * two test files never run tsc into dist at once.
 */
export function builtCli(): string {
  if (!stale()) return BUILT_CLI;
  const lock = join(ROOT, 'dist.build-lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for two minutes; remove it if no build is running`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    if (stale()) {
      const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
      // tsc leaves an unchanged output file alone; touch the entry point so freshness is visible.
      const now = new Date();
      spawnSync('touch', ['-d', now.toISOString(), BUILT_CLI]);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return BUILT_CLI;
}
