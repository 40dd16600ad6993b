// The most common way a server admin tries a tool: as root, in a directory only root can enter
// (/root/..., any mktemp -d). The throwaway server runs as an unprivileged account that cannot
// read node_modules there; the demo must work all the same.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCli, ROOT } from './helpers/built-cli.js';

const isRoot = process.getuid?.() === 0;

describe('a checkout in a mode-0700 directory', () => {
  it.skipIf(!isRoot)(`as root, npm run demo's CLI starts its server, breaks, checks, fixes and re-checks${isRoot ? '' : ' (skipped: only root meets this; run the tests as root)'}`, () => {
    builtCli();
    const outer = mkdtempSync(join(tmpdir(), 'pgpf-private-'));
    try {
      chmodSync(outer, 0o700);
      expect(statSync(outer).mode & 0o777).toBe(0o700);
      const checkout = join(outer, 'pg-preflight');
      // Hard links: the copy costs no disk, and its paths are as private as the directory.
      const cp = spawnSync('cp', ['-al', ROOT, checkout], { encoding: 'utf8' });
      expect(cp.stderr).toBe('');
      const r = spawnSync(process.execPath, [join(checkout, 'dist', 'src', 'cli.js'), 'demo', '--no-color'], {
        cwd: checkout,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: outer, NO_COLOR: '1' },
        timeout: 120_000,
      });
      expect(r.stderr).not.toMatch(/internal error|cannot open shared object/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/re-check|again/i);
    } finally {
      rmSync(outer, { recursive: true, force: true });
    }
  }, 180_000);
});
