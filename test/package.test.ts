// The npm package as users get it: what `npm pack` puts in the tarball, `npm install -g` of that
// tarball into an empty prefix (dependencies from the registry, no install script run), and the
// installed command and library. Also: the bundle loads only what a command needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_CLI, builtCli, ROOT } from './helpers/built-cli.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';
import { readmeShellBlocks } from './helpers/readme.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const repoBase = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+?)\.git$/.exec(pkg.repository.url)?.[1];
const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) => spawnSync('npm', args, { cwd, encoding: 'utf8', env, timeout: 240_000 });

beforeAll(() => {
  builtCli();
});

describe('package.json', () => {
  it('says where the project lives, and publishing builds and tests first', () => {
    expect(repoBase).toMatch(/^https:\/\/github\.com\//);
    expect(pkg.homepage).toBe(`${repoBase}#readme`);
    expect(pkg.bugs.url).toBe(`${repoBase}/issues`);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['postgresql', 'synapse']));
    expect(pkg.author).toMatch(/\S/);
    expect(pkg.scripts.prepublishOnly).toMatch(/npm run build.*&& npm test/);
    expect(pkg.bin['pg-preflight']).toBe('dist/cli.mjs');
    expect(readFileSync(join(ROOT, pkg.bin['pg-preflight']), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('SARIF rules link to the check\'s page in the repository', async () => {
    const r = spawnSync(process.execPath, [BUILT_CLI, 'check', '--dsn', 'postgresql://u@127.0.0.1:1/db', '--format', 'sarif'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    const rules = JSON.parse(r.stdout).runs[0].tool.driver.rules as { id: string; helpUri: string }[];
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) {
      expect(rule.helpUri).toBe(`${repoBase}/blob/HEAD/docs/checks/${rule.id}.md`);
      expect(existsSync(join(ROOT, 'docs', 'checks', `${rule.id}.md`))).toBe(true);
    }
  });
});

describe('README: install from a checkout', () => {
  it('its two commands come first, and npm run demo runs the bin the package installs', () => {
    expect(readmeShellBlocks('From a checkout: try it (two commands)')).toEqual([['npm ci && npm run demo'], ['npm test']]);
    expect(pkg.scripts.demo).toBe(`npm run build --silent && node ${pkg.bin['pg-preflight']} demo`);
    const demo = spawnSync(process.execPath, [BUILT_CLI, 'demo', '--no-color'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' }, timeout: 120_000 });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
  }, 120_000);
});

describe('the bundle loads only what the command needs', () => {
  /** The source files of every bundle file that Node loaded for this command line. */
  function sourcesLoaded(argv: string[]): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-load-'));
    const log = join(dir, 'loaded.txt');
    writeFileSync(log, '');
    writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`);
    writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), BUILT_CLI, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    // Read now, not when this file loads: beforeAll may have rebuilt the bundle.
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'cli.meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const files = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')).map((u) => relative(ROOT, fileURLToPath(u)));
    expect(files).toContain('dist/cli.mjs');
    return files.flatMap((f) => Object.keys(meta.outputs[f]?.inputs ?? {}));
  }

  const rarelyUsed = [/^checks\//, /^src\/fix\.ts$/, /^src\/demo\.ts$/, /^src\/throwaway\//, /^src\/docs\//, /^src\/sqlite\//, /^src\/reporters\/(?!index)/, /node_modules\/(pg|js-yaml|chalk|sql\.js)\//];

  it('--version: no yargs and no command', () => {
    const sources = sourcesLoaded(['--version']);
    expect(sources).toContain('src/version.ts');
    expect(sources.filter((s) => /yargs|src\/cli\.ts/.test(s))).toEqual([]);
  });

  it('--help: yargs and the option lists, none of the rarely used parts', () => {
    const sources = sourcesLoaded(['--help']);
    expect(sources).toContain('src/cli/common-options.ts');
    expect(sources.filter((s) => rarelyUsed.some((re) => re.test(s)))).toEqual([]);
  });

  it('check --format json: the checks and the JSON reporter, no other reporter, no fix, demo or sql.js', () => {
    const sources = sourcesLoaded(['check', '--dsn', 'postgresql://u@127.0.0.1:1/db', '--format', 'json']);
    expect(sources).toEqual(expect.arrayContaining(['src/cli/check-command.ts', 'src/reporters/json.ts']));
    expect(sources.filter((s) => /^src\/(reporters\/(?!index|json|context|findings)|fix\.ts|demo\.ts|throwaway\/|docs\/)|sql\.js/.test(s))).toEqual([]);
  });
});

describe('npm pack, then npm install -g of the tarball into an empty prefix', () => {
  let tarball: string;
  let prefix: string;
  let files: string[];
  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'pgpf-pack-'));
    // dist is built already (builtCli, under its lock); prepare would rebuild it under other tests' feet.
    const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', out], ROOT);
    expect(packed.status, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(out, info!.filename);
    files = info!.files.map((f) => f.path);
    prefix = mkdtempSync(join(tmpdir(), 'pgpf-prefix-'));
    // --ignore-scripts: nothing in the package or its dependencies needs an install script.
    const installed = npm(['install', '--global', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', tarball], out);
    expect(installed.status, installed.stderr).toBe(0);
  }, 300_000);

  it('the tarball holds the bundle, the library with its types and the docs; no bench, scripts or source maps', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/cli.mjs', 'dist/src/index.js', 'dist/src/index.d.ts', 'docs/checks/sqlite-port.md']));
    expect(files.some((f) => f.startsWith('dist/cli-chunks/'))).toBe(true);
    expect(files.filter((f) => /^dist\/(bench|scripts|exe)\/|\.map$|^dist\/cli\.meta\.json$|^(src|test|bench|scripts)\//.test(f))).toEqual([]);
    const shipped = JSON.parse(spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout);
    expect(Object.keys(shipped.scripts).filter((s) => /^(pre|post)?install$/.test(s))).toEqual([]);
  });

  it('the README\'s npm commands are the ones run here', () => {
    const [lines] = readmeShellBlocks('npm package');
    expect(lines).toEqual(['npm ci && npm pack', `npm install -g ./${tarball.split('/').at(-1)}`, 'pg-preflight --help']);
  });

  it('pg-preflight --help, --version and check run from the prefix\'s bin', async () => {
    const bin = join(prefix, 'bin', 'pg-preflight');
    const env = { PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: '/nonexistent' };
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^pg-preflight \[command\] \[options\]/);
    expect(spawnSync(bin, ['--version'], { encoding: 'utf8', env }).stdout).toBe(`${pkg.version}\n`);
    const db = await createDatabase(pg18(), 'pack_ok', { setup: synapseSchemaSql(94) });
    const check = spawnSync(bin, ['check', '--dsn', dsnFor(pg18(), db)], { encoding: 'utf8', env });
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
    expect(check.status).toBe(0);
  });

  it('the library imports, with types, from the installed package', () => {
    const lib = join(prefix, 'lib');
    expect(readdirSync(join(lib, 'node_modules'))).toContain('pg-preflight');
    writeFileSync(join(lib, 'use.mts'), "import { allChecks, defineCheck, type Check } from 'pg-preflight';\nconst checks: readonly Check[] = allChecks();\nconsole.log(checks.length, typeof defineCheck);\n");
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), join(lib, 'use.mts')], { encoding: 'utf8', cwd: lib });
    expect(tsc.stdout + tsc.stderr).toBe('');
    writeFileSync(join(lib, 'use.mjs'), "import { allChecks, defineCheck } from 'pg-preflight';\nconsole.log(allChecks().length, typeof defineCheck);\n");
    const run = spawnSync(process.execPath, [join(lib, 'use.mjs')], { encoding: 'utf8', cwd: lib });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^\d+ function\n$/);
  });
});
