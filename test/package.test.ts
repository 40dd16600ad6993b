// The npm package as users get it: what `npm pack` puts in the tarball, `npm install -g` of that
// tarball into an empty prefix (dependencies from the registry, no install script run), and the
// installed command and library. Also: the bundle runs only what a command needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
    expect(pkg.bin['pg-preflight']).toBe('dist/cli.cjs');
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
    // The embedded server from npm, found through the bin's import() (a system one would also run).
    expect(demo.stdout).toMatch(/^PostgreSQL 18\.\d+ listening on /m);
  }, 120_000);
});

describe('the bundle runs only what the command needs', () => {
  /**
   * The CLI's modules whose bodies ran for this command line. esbuild wraps every module reached
   * through import() in a function named after its source file, run on first use; V8's coverage
   * (NODE_V8_COVERAGE) counts the calls. `undefined` when the bundle was not even loaded.
   */
  function modulesRun(argv: string[]): string[] | undefined {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-coverage-'));
    const r = spawnSync(process.execPath, [BUILT_CLI, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent', NODE_V8_COVERAGE: dir } });
    expect(r.stderr).not.toMatch(/internal error/);
    const scripts = readdirSync(dir).flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[] }).result);
    const bundle = scripts.find((s) => s.url.endsWith('/dist/cli-bundle.cjs'));
    if (!bundle) return undefined;
    return bundle.functions.filter((f) => f.ranges[0]!.count > 0 && /^(src|checks|node_modules)\/.*\.[cm]?[jt]s$/.test(f.functionName)).map((f) => f.functionName);
  }

  const rarelyUsed = [/^checks\//, /^src\/fix\.ts$/, /^src\/demo\.ts$/, /^src\/throwaway\//, /^src\/docs\//, /^src\/sqlite\//, /^src\/reporters\/(?!index)/, /node_modules\/(pg|js-yaml|chalk|sql\.js)\//];

  it('the bundle starts from the code cache the build made: V8 accepts it (a rejected one costs 40 ms a start)', () => {
    const bundle = join(ROOT, 'dist', 'cli-bundle.cjs');
    const probe = `import { readCodeCache, runBundle } from ${JSON.stringify(join(ROOT, 'dist', 'src', 'code-cache.js'))};
process.argv = [process.argv[0], 'pg-preflight', '--version'];
const { cacheUsed } = runBundle(${JSON.stringify(bundle)}, readCodeCache(${JSON.stringify(bundle)}));
process.stderr.write(JSON.stringify({ cacheUsed }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(JSON.parse(r.stderr)).toEqual({ cacheUsed: true });
  });

  it('--version: the bin answers alone, without loading the bundle', () => {
    expect(modulesRun(['--version'])).toBeUndefined();
  });

  it('--help: yargs and the option lists, none of the rarely used parts', () => {
    const run = modulesRun(['--help'])!;
    expect(run).toEqual(expect.arrayContaining(['src/cli.ts', 'src/cli/common-options.ts']));
    expect(run.filter((s) => rarelyUsed.some((re) => re.test(s)))).toEqual([]);
    // Nor the login a check starts before it parses (src/cli/early-login.ts), nor node-postgres.
    expect(run.filter((s) => /early-login|session-ahead|connection\.ts|node_modules\/pg\//.test(s))).toEqual([]);
  });

  it('check --format json: the checks and the JSON reporter, no other reporter, no fix, demo or sql.js', () => {
    const run = modulesRun(['check', '--dsn', 'postgresql://u@127.0.0.1:1/db', '--format', 'json'])!;
    expect(run).toEqual(expect.arrayContaining(['src/cli/check-command.ts', 'src/reporters/json.ts', 'checks/index.ts', 'src/cli/early-login.ts', 'src/session-ahead.ts']));
    expect(run.filter((s) => /^src\/(reporters\/(?!index|json|context|findings)|fix\.ts|demo\.ts|throwaway\/|docs\/)|sql\.js/.test(s))).toEqual([]);
  });
});

describe('the bin, run from a directory that is gone', () => {
  it('says so in one line and exits 2 (yargs asks for the directory as it loads)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-gone-'));
    const r = spawnSync('sh', ['-c', `cd "$0" && rmdir "$0" && exec "$1" "$2" check --dsn postgresql://u@127.0.0.1:1/db`, dir, process.execPath, BUILT_CLI], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    expect(r.stderr).toBe('pg-preflight: the current directory is gone (ENOENT): run it from a directory that exists\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
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
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/cli.cjs', 'dist/src/index.js', 'dist/src/index.d.ts', 'docs/checks/sqlite-port.md']));
    // The bundle and the code cache it starts from; no ES module chunks of older builds.
    expect(files).toEqual(expect.arrayContaining(['dist/cli-bundle.cjs', 'dist/cli-bundle.cjs.cache']));
    expect(files.filter((f) => f.startsWith('dist/cli-chunks/') || f === 'dist/cli.mjs')).toEqual([]);
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
