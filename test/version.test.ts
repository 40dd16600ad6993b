import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };

describe('--version', () => {
  it.each([[['--version']], [['-V']], [['check', '--version']]])('%j prints the package version and exits 0, without checking anything', async (argv) => {
    const r = await runCli(argv, { PGHOST: '/nonexistent-socket-dir' });
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('is listed in --help', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(/-V, --version\s+Print the version of pg-preflight/);
  });
});
