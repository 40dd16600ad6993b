import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, preflight } from '../src/preflight.js';
import { parseRules } from '../src/rules/load.js';
import { runCli } from './helpers/cli.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const pg10 = () => sharedServers().find((s) => s.major === 10)!;
/** Checks whose verdict on the test databases is known; other built-in checks may warn on a throwaway server. */
const FOUNDATION = 'server-version,database-encoding,database-locale';

/** A check that always reports an error (after a real query), to see what rules do to the exit code. */
const FAILING_PLUGIN = `
export default {
  id: 'always-error',
  title: 'Always an error',
  description: 'Reports an error.',
  docs: 'Reports an error, for tests.',
  async run(ctx) {
    const [row] = await ctx.query('SELECT current_database() AS db');
    return { status: 'error', object: row.db, message: 'this check always fails' };
  },
};
`;

/** A plugin check with typed params that reports what it received, so params can be asserted. */
const PARAM_PLUGIN = `
export default {
  id: 'param-echo',
  title: 'Echo params',
  description: 'Reports its params.',
  docs: 'Reports its params, for tests.',
  params: {
    threshold: { type: 'bytes', default: 1024, description: 'a size' },
    max_age: { type: 'duration', default: 60, description: 'an age' },
    strict: { type: 'boolean', default: false, description: 'error instead of info' },
  },
  async run(ctx) {
    const [row] = await ctx.query('SELECT current_database() AS db');
    return { status: ctx.params.strict ? 'error' : 'info', message: 'params ' + JSON.stringify(ctx.params), details: { params: ctx.params, db: row.db } };
  },
};
`;

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'pgpf-rules-'));
}

function rulesFile(text: string, dir = scratch()): string {
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, text);
  return path;
}

function json(stdout: string) {
  return JSON.parse(stdout) as {
    results: { id: string; status: string; countedStatus: string; message: string; details: Record<string, unknown> | null; findings: { status: string; message: string; object?: string; waived?: { reason: string; expires: string } }[] }[];
    rules: { file: string; off: string[]; severity: Record<string, string>; waivers: { check: string; expired: boolean; matched: number; line: number }[] } | null;
    error?: { code: string; message: string };
  };
}

describe('severity overrides and fail-on change the exit code', () => {
  let dsn: string;
  beforeAll(async () => {
    // SQL_ASCII: database-encoding says error, the other checks pass.
    dsn = dsnFor(pg18(), await createDatabase(pg18(), 'rules_enc', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) }));
  });

  it('without rules the encoding error fails the run', async () => {
    expect((await runCli(['--dsn', dsn, '--only', FOUNDATION])).code).toBe(1);
  });

  it('off removes the check from the run, and the report says so', async () => {
    const rules = rulesFile('checks:\n  database-encoding: off\n');
    const r = await runCli(['--dsn', dsn, '--rules', rules, '--format', 'json']);
    const doc = json(r.stdout);
    expect(doc.results.map((x) => x.id)).toContain('server-version');
    expect(doc.results.map((x) => x.id)).not.toContain('database-encoding');
    expect(doc.rules).toMatchObject({ off: ['database-encoding'] });
    const text = await runCli(['--dsn', dsn, '--rules', rules]);
    expect(text.stdout).toMatch(/^Rules: .*rules\.yaml \(off: database-encoding\)$/m);
    expect(text.stdout).not.toMatch(/database-encoding:/);
    // The command line wins: --only names the check, so it runs.
    expect((await runCli(['--dsn', dsn, '--rules', rules, '--only', 'database-encoding'])).code).toBe(1);
  });

  it('off and warning turn a failing run into a passing one', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'always-error.mjs'), FAILING_PLUGIN);
    const healthy = dsnFor(pg18(), await createDatabase(pg18(), 'rules_exit', { setup: synapseSchemaSql(94) }));
    const base = ['--dsn', healthy, '--plugin', join(dir, 'always-error.mjs')];
    expect((await runCli(base)).code).toBe(1);
    expect((await runCli([...base, '--rules', rulesFile('checks:\n  always-error: off\n', dir)])).code).toBe(0);
    expect((await runCli([...base, '--rules', rulesFile('checks:\n  always-error: warning\n', dir)])).code).toBe(0);
    expect((await runCli([...base, '--rules', rulesFile('checks:\n  always-error: error\n', dir)])).code).toBe(1);
  });

  it('warning lowers the error: exit 0 under fail-on error, 1 under fail-on warning (flag or rules file)', async () => {
    const rules = rulesFile('checks:\n  database-encoding:\n    severity: warning\n');
    const r = await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--format', 'json']);
    expect(r.code).toBe(0);
    const enc = json(r.stdout).results.find((x) => x.id === 'database-encoding')!;
    expect(enc.status).toBe('warning');
    expect(enc.findings[0]!.message).toMatch(/\(set to warning by .*rules\.yaml; the check says error\)$/);
    expect((await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--fail-on', 'warning'])).code).toBe(1);

    const strict = rulesFile('fail-on: warning\nchecks:\n  database-encoding: warning\n');
    expect((await runCli(['--dsn', dsn, '--rules', strict, '--only', FOUNDATION])).code).toBe(1);
    // --fail-on on the command line wins over the file's.
    expect((await runCli(['--dsn', dsn, '--rules', strict, '--only', FOUNDATION, '--fail-on', 'error'])).code).toBe(0);
  });

  it('info lowers it further: --quiet then prints nothing at all', async () => {
    const rules = rulesFile('checks:\n  database-encoding: info\n');
    const r = await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--quiet', '--fail-on', 'warning']);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('error raises a warning (PostgreSQL 10 past end of life) and leaves ok results alone', async () => {
    const old = dsnFor(pg10(), await createDatabase(pg10(), 'rules_eol'));
    const rules = rulesFile('checks:\n  server-version: error\n  database-locale: error\n');
    expect((await runCli(['--dsn', old, '--only', 'server-version'])).code).toBe(0);
    const r = await runCli(['--dsn', old, '--rules', rules, '--format', 'json']);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.results.find((x) => x.id === 'server-version')!.status).toBe('error');
    expect(doc.results.find((x) => x.id === 'database-locale')!.status).toBe('ok');
  });
});

describe('params and plugins from the rules file', () => {
  it('params are typed like --set, --set wins, and plugins: paths start at the rules file', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'param-echo.mjs'), PARAM_PLUGIN);
    const rules = rulesFile(
      ['plugins:', '  - ./param-echo.mjs', 'checks:', '  param-echo:', '    params:', '      threshold: 2MB', '      max_age: 5min', ''].join('\n'),
      dir,
    );
    const db = dsnFor(pg18(), await createDatabase(pg18(), 'rules_params'));
    const r = await runCli(['--dsn', db, '--rules', rules, '--only', 'param-echo', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout).results[0]!.details!.params).toEqual({ threshold: 2 * 1024 ** 2, max_age: 300, strict: false });
    const set = await runCli(['--dsn', db, '--rules', rules, '--only', 'param-echo', '--set', 'param-echo.threshold=4kB', '--set', 'param-echo.strict=on', '--format', 'json']);
    expect(set.code).toBe(1);
    expect(json(set.stdout).results[0]!.details!.params).toEqual({ threshold: 4096, max_age: 300, strict: true });
  });
});

describe('waivers', () => {
  let db: string;
  let dsn: string;
  beforeAll(async () => {
    db = await createDatabase(pg18(), 'rules_waive', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
    dsn = dsnFor(pg18(), db);
  });
  const waiver = (extra: string, expires = '2999-12-31') =>
    rulesFile(`waivers:\n  - check: database-encoding\n${extra}    reason: "moving to a UTF8 cluster in Q3"\n    expires: ${expires}\n`);

  it('a waived finding is shown as waived in text and JSON and does not count for the exit code', async () => {
    const rules = waiver('');
    const r = await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = json(r.stdout);
    const enc = doc.results.find((x) => x.id === 'database-encoding')!;
    expect(enc.status).toBe('error');
    expect(enc.countedStatus).toBe('ok');
    expect(enc.findings[0]!.waived).toEqual({ reason: 'moving to a UTF8 cluster in Q3', expires: '2999-12-31' });
    expect(doc.rules!.waivers[0]).toMatchObject({ check: 'database-encoding', expired: false, matched: 1, line: 2 });

    const text = await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^~ waived {2}database-encoding: .*SQL_ASCII/m);
    expect(text.stdout).toContain('waived (error) until 2999-12-31: moving to a UTF8 cluster in Q3');
    expect(text.stdout).toMatch(/Summary: .*1 finding waived/);
    // For ExecStartPre logs: an accepted finding is not a problem to print.
    expect(await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('object and database narrow a waiver to one finding', async () => {
    const only = ['--only', FOUNDATION];
    expect((await runCli(['--dsn', dsn, ...only, '--rules', waiver(`    object: ${db}\n`)])).code).toBe(0);
    expect((await runCli(['--dsn', dsn, ...only, '--rules', waiver('    object: some_other_db\n')])).code).toBe(1);
    expect((await runCli(['--dsn', dsn, ...only, '--rules', waiver('    database: master\n')])).code).toBe(0);
    const other = await runCli(['--dsn', dsn, ...only, '--rules', waiver('    database: events\n'), '--format', 'json']);
    expect(other.code).toBe(1);
    expect(json(other.stdout).rules!.waivers[0]).toMatchObject({ matched: 0, expired: false });
  });

  it('an expired waiver stops applying and is itself reported, in every output', async () => {
    const rules = waiver('', '2001-02-03');
    const r = await runCli(['--dsn', dsn, '--rules', rules, '--format', 'json']);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.results.find((x) => x.id === 'database-encoding')!.countedStatus).toBe('error');
    const notice = doc.results.find((x) => x.id === 'rules')!;
    expect(notice.status).toBe('warning');
    expect(notice.message).toMatch(/the waiver for database-encoding expired on 2001-02-03 \("moving to a UTF8 cluster in Q3", .*rules\.yaml:2\)/);
    const quiet = await runCli(['--dsn', dsn, '--rules', rules, '--only', FOUNDATION, '--quiet']);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toMatch(/✖ error\s+database-encoding/);
    expect(quiet.stdout).toMatch(/! warning rules: the waiver for database-encoding expired on 2001-02-03/);
  });

  it('a waiver applies through its expires day (UTC) and not the day after (library API)', async () => {
    const file = parseRules('waivers:\n  - check: database-encoding\n    reason: accepted\n    expires: 2030-06-30\n', '/srv/app/.pg-preflight.yaml', '/srv/app');
    const run = (now: string) => preflight({ dsn, env: { HOME: '/nonexistent' }, rulesFile: file, only: ['database-encoding'], options: { now: new Date(now) } });
    const last = await run('2030-06-30T23:59:59Z');
    expect(exitCodeFor(last, 'error')).toBe(0);
    expect(last.rules!.waivers[0]!.expired).toBe(false);
    const after = await run('2030-07-01T00:00:00Z');
    expect(exitCodeFor(after, 'error')).toBe(1);
    expect(after.rules!.waivers[0]!.expired).toBe(true);
    expect(after.targets[0]!.results.map((r) => r.id)).toEqual(['database-encoding', 'rules']);
    expect(after.targets[0]!.results[1]!.message).toContain('.pg-preflight.yaml:2');
  });
});

describe('where the rules file comes from', () => {
  const home = process.cwd();
  afterEach(() => process.chdir(home));

  it('.pg-preflight.yaml in the working directory is used without --rules', async () => {
    const dir = scratch();
    writeFileSync(join(dir, '.pg-preflight.yaml'), 'checks:\n  database-encoding: warning\n  nope: off\n');
    const db = dsnFor(pg18(), await createDatabase(pg18(), 'rules_cwd', { encoding: 'SQL_ASCII' }));
    process.chdir(dir);
    const r = await runCli(['--dsn', db, '--only', FOUNDATION]);
    expect(r.code).toBe(2);
    // Named relative to the working directory, with its line.
    expect(r.stderr).toMatch(/^pg-preflight: \.pg-preflight\.yaml:3: checks\.nope: unknown check id "nope"/);
    writeFileSync(join(dir, '.pg-preflight.yaml'), 'checks:\n  database-encoding: warning\n');
    expect((await runCli(['--dsn', db, '--only', FOUNDATION])).code).toBe(0);
    process.chdir(home);
    expect((await runCli(['--dsn', db, '--only', FOUNDATION])).code).toBe(1);
  });

  it('--rules names a missing file: exit 2', async () => {
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', '--rules', '/nonexistent/rules.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rules /nonexistent/rules.yaml: no such file');
  });
});

describe('a bad rules file: exit 2, one line naming the file, the line and the key', () => {
  const dir = scratch();
  writeFileSync(join(dir, 'param-echo.mjs'), PARAM_PLUGIN);
  const cases: [string, string, RegExp][] = [
    ['unknown check id', 'fail-on: error\nchecks:\n  server-version: warning\n  no-such-check: off\n', /rules\.yaml:4: checks\.no-such-check: unknown check id "no-such-check"/],
    ['unknown param', 'plugins: [./param-echo.mjs]\nchecks:\n  param-echo:\n    severity: warning\n    params:\n      threshold: 1MB\n      thresold: 2MB\n', /rules\.yaml:7: checks\.param-echo\.params\.thresold: check "param-echo" has no param "thresold" \(it has: threshold, max_age, strict\)/],
    ['param of a check without params', 'checks:\n  server-version:\n    params: { minimum: 14 }\n', /rules\.yaml:3: checks\.server-version\.params\.minimum: check "server-version" has no param "minimum" \(it takes none\)/],
    ['param of the wrong type', 'plugins: [./param-echo.mjs]\nchecks:\n  param-echo:\n    params:\n      max_age: soon\n', /rules\.yaml:5: checks\.param-echo\.params\.max_age must be a duration such as 500ms/],
    ['unknown severity', 'checks:\n  server-version: warn\n', /rules\.yaml:2: checks\.server-version: must be one of off, info, warning, error, not "warn"/],
    ['unknown key in a check', 'checks:\n  server-version:\n    level: warning\n', /rules\.yaml:3: checks\.server-version\.level: unknown key "level"; the keys here are severity, params/],
    ['misspelt top-level key', '\n\nfail_on: warning\n', /rules\.yaml:3: fail_on: unknown key "fail_on"; did you mean "fail-on"\?/],
    ['bad fail-on', 'fail-on: sometimes\n', /rules\.yaml:1: fail-on: must be error, warning, never, not "sometimes"/],
    ['waiver without expires', 'waivers:\n  - check: server-version\n    reason: known\n', /rules\.yaml:2: waivers\[0\]: needs expires: YYYY-MM-DD/],
    ['waiver without reason', 'waivers:\n  - check: server-version\n    expires: 2030-01-01\n', /rules\.yaml:2: waivers\[0\]: needs a reason/],
    ['waiver with a bad date', 'waivers:\n  - check: server-version\n    reason: known\n    expires: next spring\n', /rules\.yaml:4: waivers\[0\]\.expires: must be a date written YYYY-MM-DD, not "next spring"/],
    ['waiver with an impossible date', 'waivers:\n  - check: server-version\n    reason: known\n    expires: "2030-02-30"\n', /rules\.yaml:4: waivers\[0\]\.expires: must be a date/],
    ['waiver for an unknown check', 'waivers:\n  - check: server-version\n    reason: a\n    expires: 2030-01-01\n  - check: sequence-drfit\n    reason: b\n    expires: 2030-01-01\n', /rules\.yaml:5: waivers\[1\]\.check: unknown check id "sequence-drfit"/],
    ['not YAML', 'checks:\n  server-version: warning\n   database-locale: off\n', /rules\.yaml:3: not valid YAML: bad indentation/],
    ['not a mapping', '- checks\n', /rules\.yaml: a rules file is a mapping/],
  ];

  it.each(cases)('%s', async (_name, text, message) => {
    const rules = rulesFile(text, dir);
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', '--rules', rules]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the same error comes out as a JSON document with --format json', async () => {
    const rules = rulesFile('checks:\n  nope: off\n', dir);
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', '--rules', rules, '--format', 'json']);
    expect(r.code).toBe(2);
    expect(json(r.stdout).error).toMatchObject({ code: 'rules-check-unknown', message: expect.stringMatching(/rules\.yaml:2: checks\.nope/) });
  });
});
