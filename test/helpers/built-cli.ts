import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The bin of package.json: the bundle scripts/build-cli.mjs makes. */
export const BUILT_CLI = join(ROOT, 'dist', 'cli.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The newest modification time of the sources and build scripts that go into dist. */
export function newestSourceMtime(): number {
  return Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'checks')), ...['build-cli.mjs', 'build-exe.mjs'].map((f) => statSync(join(ROOT, 'scripts', f)).mtimeMs));
}

function stale(): boolean {
  if (!existsSync(BUILT_CLI)) return true;
  return statSync(BUILT_CLI).mtimeMs < newestSourceMtime();
}

/**
 * Runs `build` while holding dist's build lock (a directory: mkdir is atomic), so that two test
 * files never build into dist at once; waits up to `waitMs` for another build to finish.
 */
export function underBuildLock(build: () => void, waitMs = 120_000): void {
  const lock = join(ROOT, 'dist.build-lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for ${Math.round(waitMs / 60_000)} minutes; remove it if no build is running`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The CLI as users run it (node dist/cli.cjs, what `npm run build` makes and the package's bin is),
 * for tests that start it as a separate process (shell scripts, systemd lines). Rebuilt when any
 * source is newer than it, under a lock so that two test files never build into dist at once.
 */
export function builtCli(): string {
  if (!stale()) return BUILT_CLI;
  underBuildLock(() => {
    if (!stale()) return;
    // What `npm run build` runs: tsc for the library, then the bundle.
    for (const command of [[join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], [join(ROOT, 'scripts', 'build-cli.mjs')]]) {
      const r = spawnSync(process.execPath, command, { encoding: 'utf8', cwd: ROOT });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
    }
  });
  return BUILT_CLI;
}
