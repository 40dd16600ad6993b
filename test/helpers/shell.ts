import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClientTools } from '../../src/throwaway/binaries.js';

/** Debian's PostgreSQL client tools, when installed; tests that need them skip visibly otherwise. */
export const clientTools = findClientTools();

/** Runs a printed shell remediation exactly as a user would paste it, in a scratch directory. */
export function runPasted(script: string, env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-shell-'));
  try {
    // stdin ignored: bash treats a socket on stdin as an rsh session and would source bash.bashrc.
    const r = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: {
        PATH: `${clientTools?.binDir ?? ''}:${process.env.PATH}`,
        HOME: dir,
        ...env,
      },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
