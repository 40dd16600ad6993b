import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { builtCli, ROOT } from './helpers/built-cli.js';
import { createDatabase, dsnFor, sharedServers, sql, uniqueName } from './helpers/servers.js';

const EXAMPLE = join(ROOT, 'examples', 'plugin-required-table');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Sets up the example the way a plugin author has it: its own directory with pg-preflight and
 * @types/node installed (symlinks standing in for npm install), then `tsc -p .`.
 */
function pluginProject(source?: string, extra: Record<string, string> = {}): { dir: string; tsc: { status: number | null; output: string } } {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-plugin-'));
  for (const f of ['package.json', 'tsconfig.json', 'src']) cpSync(join(EXAMPLE, f), join(dir, f), { recursive: true });
  if (source !== undefined) writeFileSync(join(dir, 'src', 'index.ts'), source);
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, 'src', name), text);
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'pg-preflight'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  const r = spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
  return { dir, tsc: { status: r.status, output: r.stdout + r.stderr } };
}

function jsPlugin(name: string, text: string, dir = mkdtempSync(join(tmpdir(), 'pgpf-plugin-js-'))): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const check = (id: string, run: string) =>
  `{ id: '${id}', title: 'T ${id}', description: 'D', docs: 'Docs.', async run(ctx) { ${run} } }`;

/** The README's TypeScript examples compile in the same project, against the same public API. */
const README_TS = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

let example: string;
beforeAll(() => {
  // The plugin imports "pg-preflight" at run time: the package's dist must match the sources.
  builtCli();
  expect(README_TS.length).toBeGreaterThanOrEqual(3);
  const built = pluginProject(undefined, Object.fromEntries(README_TS.map((text, i) => [`readme-${i}.ts`, text])));
  expect(built.tsc.output).toBe('');
  expect(built.tsc.status).toBe(0);
  example = built.dir;
}, 120_000);

describe.each(sharedServers())('the TypeScript example plugin on PostgreSQL $major', (server) => {
  let db: string;
  let reader: string;
  beforeAll(async () => {
    reader = uniqueName('reader');
    db = await createDatabase(server, 'plugin_tables', {
      setup: `CREATE TABLE public.users (id int); CREATE SCHEMA "App ""Data"""; CREATE TABLE "App ""Data""".secrets (id int); CREATE ROLE ${reader} LOGIN;`,
    });
  });

  it('loads with --plugin; a missing table is an error in text and JSON', async () => {
    const argv = ['--dsn', dsnFor(server, db), '--plugin', join(example, 'dist', 'index.js'), '--set', 'required-tables.tables=public.users,public.events'];
    const text = await runCli(argv);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^✖ error\s+required-tables: table public\.events does not exist in database/m);
    expect(text.stdout).toMatch(/✔ ok\s+database-encoding/);
    const doc = JSON.parse((await runCli([...argv, '--format', 'json'])).stdout);
    const result = doc.results.find((r: { id: string }) => r.id === 'required-tables');
    expect(result).toMatchObject({ title: 'Required tables exist and are readable', status: 'error' });
    expect(result.findings).toEqual([expect.objectContaining({ status: 'error', object: 'public.events' })]);
    // Without the param the check says what to set instead of guessing.
    const unset = await runCli(['--dsn', dsnFor(server, db), '--plugin', join(example, 'dist', 'index.js'), '--only', 'required-tables']);
    expect(unset.stdout).toMatch(/- skipped required-tables: no tables to look for/);
  });

  it('a table the role may not read: the printed GRANT, executed, fixes it', async () => {
    const argv = ['--dsn', dsnFor(server, db, reader), '--plugin', example, '--only', 'required-tables', '--set', 'required-tables.tables=public.users,App "Data".secrets', '--format', 'json'];
    const before = await runCli(argv);
    expect(before.code).toBe(1);
    const findings = JSON.parse(before.stdout).results[0].findings as { object: string; message: string; remediation: { kind: string; text: string }[] }[];
    expect(findings.map((f) => f.object)).toEqual(['public.users', 'App "Data".secrets']);
    for (const f of findings) {
      expect(f.message).toContain(`role "${reader}" may not read it`);
      const step = f.remediation.find((s) => s.kind === 'sql')!;
      await sql(server, db, step.text);
    }
    const after = await runCli(argv);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).results[0]).toMatchObject({ status: 'ok', message: `all 2 required tables exist and ${reader} may read them` });
  });
});

describe("the README's plugin example", () => {
  it('compiles (above) and runs: ok where public.events exists, an error where it does not', async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    const index = README_TS.findIndex((t) => t.includes('defineCheck('));
    const plugin = join(example, 'dist', `readme-${index}.js`);
    const withTable = await createDatabase(server, 'plugin_readme', { setup: 'CREATE TABLE public.events (id int);' });
    const without = await createDatabase(server, 'plugin_readme');
    const ok = await runCli(['--dsn', dsnFor(server, withTable), '--plugin', plugin, '--only', 'events-table']);
    expect(ok.stdout).toMatch(/✔ ok\s+events-table: public\.events exists/);
    const bad = await runCli(['--dsn', dsnFor(server, without), '--plugin', plugin, '--only', 'events-table']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✖ error\s+events-table: "public"\."events" is missing/);
  });
});

describe('how a plugin is named', () => {
  const home = process.cwd();
  afterEach(() => process.chdir(home));
  let dsn: string;
  beforeAll(async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    dsn = dsnFor(server, await createDatabase(server, 'plugin_names', { setup: 'CREATE TABLE public.users (id int);' }));
  });

  it('by package name, installed in the working directory, and from the rules file; loaded once when named twice', async () => {
    const project = mkdtempSync(join(tmpdir(), 'pgpf-project-'));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(example, join(project, 'node_modules', 'pg-preflight-plugin-required-table'));
    writeFileSync(
      join(project, '.pg-preflight.yaml'),
      'plugins:\n  - pg-preflight-plugin-required-table\nchecks:\n  required-tables:\n    params:\n      tables: public.users\n',
    );
    process.chdir(project);
    const r = await runCli(['--dsn', dsn, '--plugin', 'pg-preflight-plugin-required-table', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout).results as { id: string; status: string }[];
    expect(results.filter((x) => x.id === 'required-tables')).toEqual([expect.objectContaining({ status: 'ok' })]);
  });

  it('a CommonJS module exporting { checks } works too', async () => {
    const path = jsPlugin('cjs-plugin.cjs', `module.exports = { checks: [${check('cjs-check', "return { status: 'ok', message: 'cjs loaded' };")}] };`);
    const r = await runCli(['--dsn', dsn, '--plugin', path, '--only', 'cjs-check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✔ ok\s+cjs-check: cjs loaded/);
  });
});

describe('a plugin check runs in the same read-only session as the built-in ones', () => {
  let dsn: string;
  beforeAll(async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    dsn = dsnFor(server, await createDatabase(server, 'plugin_session', { setup: 'CREATE SEQUENCE s;' }));
  });

  it('read only, repeatable read, the session timeouts; writes fail, a throw fails only that check', async () => {
    const path = jsPlugin(
      'session.mjs',
      `export const checks = [
        ${check('session-settings', "const [r] = await ctx.query(\"SELECT current_setting('transaction_read_only') AS ro, current_setting('transaction_isolation') AS iso, current_setting('statement_timeout') AS st, current_setting('application_name') AS app\"); return { status: 'info', message: JSON.stringify(r), details: r };")},
        ${check('tries-to-write', "await ctx.query('CREATE TABLE t (id int)'); return { status: 'ok', message: 'wrote' };")},
        ${check('tries-nextval', "await ctx.query(\"SELECT nextval('s')\"); return { status: 'ok', message: 'advanced' };")},
        ${check('throws', "throw new Error('plugin bug: x is undefined');")},
        ${check('after-them', "const [r] = await ctx.query('SELECT 1 AS one'); return { status: 'ok', message: 'still running: ' + r.one };")},
      ];`,
    );
    const r = await runCli(['--dsn', dsn, '--plugin', path, '--statement-timeout', '7', '--format', 'json']);
    expect(r.code).toBe(1);
    const byId = Object.fromEntries((JSON.parse(r.stdout).results as { id: string; status: string; message: string; details: unknown }[]).map((x) => [x.id, x]));
    expect(byId['session-settings']!.details).toEqual({ ro: 'on', iso: 'repeatable read', st: '7s', app: 'pg-preflight' });
    expect(byId['tries-to-write']).toMatchObject({ status: 'failed', message: expect.stringContaining('cannot execute CREATE TABLE in a read-only transaction') });
    expect(byId['tries-nextval']).toMatchObject({ status: 'failed', message: expect.stringContaining('read-only transaction') });
    expect(byId['throws']).toMatchObject({ status: 'failed', message: 'the check could not run: plugin bug: x is undefined' });
    expect(byId['after-them']).toMatchObject({ status: 'ok', message: 'still running: 1' });
    expect(byId['server-version']).toMatchObject({ status: 'ok' });
  });
});

describe('a plugin that cannot be used: exit 2 and one clear line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-plugin-bad-'));
  const cases: [string, () => string[], string, RegExp][] = [
    ['a path that does not exist', () => ['--plugin', './no-such-plugin.mjs'], 'plugin-not-found', /plugin "\.\/no-such-plugin\.mjs" \(--plugin\) not found: there is no file \/.*no-such-plugin\.mjs/],
    ['a package that is not installed', () => ['--plugin', 'pg-preflight-plugin-not-installed'], 'plugin-not-found', /plugin "pg-preflight-plugin-not-installed" \(--plugin\) not found: no package of that name/],
    ['a syntax error', () => ['--plugin', jsPlugin('syntax.mjs', 'export default { id: "x", ', dir)], 'plugin-load', /plugin ".*syntax\.mjs" \(--plugin\) could not be loaded: /],
    ['a module that throws while loading', () => ['--plugin', jsPlugin('throws.mjs', 'throw new Error("missing config for plugin");', dir)], 'plugin-load', /could not be loaded: missing config for plugin/],
    ['no export', () => ['--plugin', jsPlugin('empty.mjs', 'export const unrelated = 1;', dir)], 'plugin-export', /exports no checks: export a check or an array of checks as the default export, or as "checks"/],
    ['an export that is not a check', () => ['--plugin', jsPlugin('notcheck.mjs', 'export default { id: "half-done", title: "T" };', dir)], 'plugin-export', /its export is not a check: it has no description, docs, run\(ctx\)/],
    ['one bad entry in an array', () => ['--plugin', jsPlugin('array.mjs', `export default [${check('good-one', "return { status: 'ok', message: 'ok' };")}, 42];`, dir)], 'plugin-export', /export #2 is not a check: it is a number, not a check object/],
    ['an id that is not kebab-case', () => ['--plugin', jsPlugin('case.mjs', `export default ${check('My_Check', "return { status: 'ok', message: 'ok' };")};`, dir)], 'plugin-export', /its id "My_Check" is not kebab-case/],
    ['an id that collides with a built-in check', () => ['--plugin', jsPlugin('collide.mjs', `export default ${check('server-version', "return { status: 'ok', message: 'mine' };")};`, dir)], 'plugin-collision', /defines check "server-version", but that id is a built-in check: give the plugin's check another id/],
    [
      'two plugins with the same id',
      () => ['--plugin', jsPlugin('a.mjs', `export default ${check('dup-id', "return { status: 'ok', message: 'a' };")};`, dir), '--plugin', jsPlugin('b.mjs', `export default ${check('dup-id', "return { status: 'ok', message: 'b' };")};`, dir)],
      'plugin-collision',
      /plugin ".*b\.mjs" \(--plugin\) defines check "dup-id", but that id is also defined by plugin ".*a\.mjs" \(--plugin\)/,
    ],
    ['the reserved id "rules"', () => ['--plugin', jsPlugin('rules.mjs', `export default ${check('rules', "return { status: 'ok', message: 'x' };")};`, dir)], 'plugin-collision', /that id is reserved for rules-file notices/],
  ];

  it.each(cases)('%s', async (_name, args, code, message) => {
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', ...args()]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`[${code}]`);
  });

  it('under plain Node (the built CLI; vitest would transpile and word errors its own way)', () => {
    const cli = builtCli();
    const syntax = spawnSync(process.execPath, [cli, '--dsn', 'postgresql://u@127.0.0.1:1/db', '--plugin', jsPlugin('syntax.mjs', 'export default { id: "x", ', dir)], { encoding: 'utf8' });
    expect(syntax.status).toBe(2);
    expect(syntax.stderr).toMatch(/^pg-preflight: plugin ".*syntax\.mjs" \(--plugin\) could not be loaded: SyntaxError: Unexpected end of input \[plugin-load\]\n$/);
  });

  it('a .ts file given to Node 20 directly: compile it first', () => {
    const ts = join(dir, 'plugin.ts');
    cpSync(join(EXAMPLE, 'src', 'index.ts'), ts);
    const r = spawnSync(process.execPath, [builtCli(), '--dsn', 'postgresql://u@127.0.0.1:1/db', '--plugin', ts], { encoding: 'utf8' });
    const major = Number(process.versions.node.split('.')[0]);
    // Node 23.6+ strips types itself; then the file may load, and this message is not needed.
    if (major >= 23) return;
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/plugin ".*plugin\.ts" \(--plugin\) is TypeScript, which Node v[\d.]+ does not load: compile it first \(npx tsc\) and give the \.js file it produces \[plugin-load\]/);
  });
});

describe('the public API types a plugin', () => {
  it('a plugin with a wrong status does not compile', () => {
    const bad = `import { defineCheck } from 'pg-preflight';
export default defineCheck({ id: 'bad', title: 'T', description: 'D', docs: 'D',
  async run() { return { status: 'critical', message: 'no such status' }; } });
`;
    const r = pluginProject(bad);
    expect(r.tsc.status).not.toBe(0);
    expect(r.tsc.output).toMatch(/src\/index\.ts\(\d+,\d+\): error TS2322: .*"critical"/s);
  }, 60_000);
});
