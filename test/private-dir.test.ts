// The most common way a server admin tries a tool: as root, in a directory only root can enter
// (/root/..., any mktemp -d). The throwaway server runs as an unprivileged account that cannot
// read node_modules there; the demo must work all the same, and where it truly cannot, say why
// in a line.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, ROOT } from './helpers/built-cli.js';

const isRoot = process.getuid?.() === 0;
const skipNote = isRoot ? '' : ' (skipped: only root meets this; run the tests as root)';

describe.skipIf(!isRoot)(`a checkout in a mode-0700 directory, as root${skipNote}`, () => {
  let outer: string;
  let checkout: string;
  beforeAll(() => {
    builtCli();
    outer = mkdtempSync(join(tmpdir(), 'pgpf-private-'));
    chmodSync(outer, 0o700);
    checkout = join(outer, 'pg-preflight');
    // Hard links: the copy costs no disk, and its paths are as private as the directory.
    const cp = spawnSync('cp', ['-al', ROOT, checkout], { encoding: 'utf8' });
    expect(cp.stderr).toBe('');
  }, 120_000);
  afterAll(() => rmSync(outer, { recursive: true, force: true }));

  const demo = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(checkout, 'dist', 'cli.cjs'), 'demo', '--no-color'], {
      cwd: checkout,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: outer, NO_COLOR: '1', ...env },
      timeout: 120_000,
    });

  it('the demo starts its server, breaks, checks, fixes and re-checks', () => {
    expect(statSync(outer).mode & 0o777).toBe(0o700);
    const r = demo();
    expect(r.stderr).not.toMatch(/internal error|cannot open shared object/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/re-check|again/i);
  }, 180_000);

  it('with a temp directory the server account cannot enter either: one line with the cause and the fix, exit 2', () => {
    const privateTmp = join(outer, 'tmp');
    mkdirSync(privateTmp, { mode: 0o700 });
    const r = demo({ TMPDIR: privateTmp });
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/internal error|This is a bug|\n\s+at /);
    expect(r.stderr.split('\n')[0]).toMatch(/the demo could not start a throwaway PostgreSQL: the "postgres" account cannot run .* make .* traversable by it \(chmod o\+x\), or run as a user who is not root/);
  }, 180_000);
});
