import { startPasswordServer } from './helpers/password-server.js';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_CHECKS } from '../checks/index.js';
import { resolveTargets } from '../src/config/resolve.js';
import { defineCheck } from '../src/define-check.js';
import { escapeData, escapeProperty, renderStepSummary, workflowCommand } from '../src/reporters/github.js';
import { escapeHtml } from '../src/reporters/html.js';
import { FORMATS, renderReport, type Format } from '../src/reporters/index.js';
import { xmlAttr, xmlEscape } from '../src/reporters/junit.js';
import { keyLine } from '../src/reporters/locate.js';
import { escapeLabel } from '../src/reporters/prometheus.js';
import { runChecks, summarize, type Report } from '../src/runner.js';
import { freePort, type ThrowawayServer } from '../src/throwaway/server.js';
import type { Check, Status } from '../src/types.js';
import { runCli } from './helpers/cli.js';
import { parseJunit, parsePrometheus, parseWorkflowCommands, validSarif, type JunitSuite } from './helpers/formats.js';
import { createDatabase, sharedServers, type SharedServer } from './helpers/servers.js';

interface JsonFinding { status: Status; message: string; object?: string }
interface JsonResult { id: string; database: string; status: Status; findings: JsonFinding[] }

const isProblem = (s: string) => s !== 'ok' && s !== 'skipped';
const lineOf = (text: string, line: string) => text.split('\n').indexOf(line) + 1;

function homeserverYaml(server: Pick<SharedServer, 'host' | 'port'>, main: string, state: string): string {
  const args = (db: string) => `    args:\n      user: postgres\n      dbname: ${JSON.stringify(db)}\n      host: ${server.host}\n      port: ${server.port}\n`;
  return [
    'server_name: example.org',
    '# Two databases, as a large homeserver splits them.',
    'databases:',
    '  main:',
    '    name: psycopg2',
    '    data_stores: [main]',
    args(main).trimEnd(),
    '  state:',
    '    name: psycopg2',
    '    data_stores: [state]',
    '    allow_unsafe_locale: true',
    args(state).trimEnd(),
    '',
  ].join('\n');
}

/** Every output file of one run: the main format on stdout, every other one via --report. */
function reportFlags(dir: string): { files: Record<Exclude<Format, 'json'>, string>; argv: string[] } {
  const files = {
    text: join(dir, 'report.txt'),
    sarif: join(dir, 'pg-preflight.sarif'),
    junit: join(dir, 'junit.xml'),
    github: join(dir, 'annotations.txt'),
    prometheus: join(dir, 'pg_preflight.prom'),
    html: join(dir, 'report.html'),
  };
  return { files, argv: Object.entries(files).flatMap(([format, file]) => ['--report', `${format}:${file}`]) };
}

describe.each(sharedServers())('every format from one run on broken databases, PostgreSQL $major', (server) => {
  let dir: string;
  let config: string;
  let yamlText: string;
  let results: JsonResult[];
  let expected: string[];
  let out: Record<Exclude<Format, 'json'>, string>;
  let summary: string;
  let code: number;

  beforeAll(async () => {
    const ascii = await createDatabase(server, 'rep_ascii', { encoding: 'SQL_ASCII' });
    const locale = await createDatabase(server, 'rep_locale', { collate: 'C.UTF-8', ctype: 'C.UTF-8' });
    dir = mkdtempSync(join(tmpdir(), 'pgpf-reporters-'));
    config = join(dir, 'homeserver.yaml');
    yamlText = homeserverYaml(server, ascii, locale);
    writeFileSync(config, yamlText);
    const { files, argv } = reportFlags(dir);
    const summaryFile = join(dir, 'step-summary.md');
    const r = await runCli(['check', '--config', config, '--format', 'json', ...argv], { GITHUB_STEP_SUMMARY: summaryFile });
    code = r.code;
    expect(r.stderr).toBe('');
    results = JSON.parse(r.stdout).results;
    expected = results.flatMap((x) => x.findings.filter((f) => isProblem(f.status)).map((f) => `${x.database}|${x.id}|${f.status}`)).sort();
    out = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f, 'utf8')])) as typeof out;
    summary = readFileSync(summaryFile, 'utf8');
  });

  it('the run itself: an encoding error on main, a locale warning on state, exit 1', () => {
    expect(code).toBe(1);
    expect(expected).toContain('main|database-encoding|error');
    expect(expected).toContain('state|database-locale|warning');
    if (server.major === 10) expect(expected).toContain('main|server-version|error');
  });

  it('SARIF: valid against the 2.1.0 schema, one rule per check, one result per problem, located in homeserver.yaml', () => {
    const log = validSarif(out.sarif);
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(BUILTIN_CHECKS.map((c) => c.id));
    for (const rule of run.tool.driver.rules) {
      const check = BUILTIN_CHECKS.find((c) => c.id === rule.id)!;
      expect(rule.shortDescription.text).toBe(check.title);
      expect(rule.help!.text).toContain(check.docs.trim().split('\n')[0]);
      expect(rule.helpUri).toMatch(new RegExp(`docs/checks/${rule.id}\\.md$`));
    }
    expect(run.results.map((r) => `${r.properties.database}|${r.ruleId}|${r.properties.status}`).sort()).toEqual(expected);
    const levels: Record<string, string> = { info: 'note', warning: 'warning', error: 'error', failed: 'error' };
    for (const r of run.results) {
      expect(r.level).toBe(levels[r.properties.status]);
      expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
      const loc = r.locations[0]!;
      // The config lies outside the working directory: an absolute file URI, at the section's line.
      expect(loc.physicalLocation.artifactLocation.uri).toBe(pathToFileURL(config).href);
      expect(loc.physicalLocation.region!.startLine).toBe(lineOf(yamlText, `  ${r.properties.database}:`));
      expect(loc.logicalLocations![0]!.fullyQualifiedName).toMatch(/^rep_/);
    }
    const enc = run.results.find((r) => r.ruleId === 'database-encoding')!;
    expect(enc.message.text).toContain('How to fix');
    expect(enc.message.text).toContain('pg_dump');
    expect(run.invocations[0]!.executionSuccessful).toBe(true);
  });

  it('JUnit: one testsuite per database, one testcase per check, failures for errors with the fix in the text', () => {
    const doc = parseJunit(out.junit);
    expect(doc.testsuite.map((s: JunitSuite) => s['@_name'].split(' ')[0])).toEqual(['main', 'state']);
    let failures = 0;
    for (const suite of doc.testsuite) {
      const label = suite['@_name'].split(' ')[0]!;
      const mine = results.filter((r) => r.database === label);
      expect(suite.testcase.map((c) => c['@_name'])).toEqual(mine.map((r) => r.id));
      const failing = mine.filter((r) => r.status === 'error').map((r) => r.id);
      expect(suite.testcase.filter((c) => c.failure).map((c) => c['@_name'])).toEqual(failing);
      expect(Number(suite['@_failures'])).toBe(failing.length);
      expect(Number(suite['@_tests'])).toBe(mine.length);
      failures += failing.length;
      for (const c of suite.testcase.filter((x) => x.failure)) {
        expect(c.failure!['@_type']).toBe('error');
        expect(c.failure!['#text']).toContain('How to fix');
      }
      // A warning below --fail-on passes, and says what it saw.
      for (const c of suite.testcase.filter((x) => mine.find((r) => r.id === x['@_name'])!.status === 'warning')) {
        expect(c.failure).toBeUndefined();
        expect(c['system-out']).toMatch(/^warning:/);
      }
    }
    expect(Number(doc['@_failures'])).toBe(failures);
    expect(failures).toBe(results.filter((r) => r.status === 'error').length);
  });

  it('GitHub: one workflow command per problem, in the documented syntax, with the config file and line', () => {
    const { annotations, other } = parseWorkflowCommands(out.github);
    expect(other).toHaveLength(1);
    expect(other[0]).toMatch(/^pg-preflight: \d+ error/);
    const seen = annotations.map((a) => {
      const m = /^(\S+) \[(\w+)\]: (\w+)$/.exec(a.properties.title!)!;
      expect(a.command).toBe(m[3] === 'warning' ? 'warning' : m[3] === 'info' ? 'notice' : 'error');
      expect(a.properties.file).toBe(config);
      expect(Number(a.properties.line)).toBe(lineOf(yamlText, `  ${m[2]}:`));
      return `${m[2]}|${m[1]}|${m[3]}`;
    });
    expect(seen.sort()).toEqual(expected);
    expect(summary).toMatch(/^## pg-preflight: /);
    for (const r of results) expect(summary).toContain(`\`${r.id}\``);
    expect(summary).toContain('<details><summary>How to fix <code>database-encoding</code></summary>');
  });

  it('Prometheus: parsed line by line, one status gauge per check and database, up, timestamp and duration', () => {
    const { samples, types } = parsePrometheus(out.prometheus);
    expect(Object.values(types).every((t) => t === 'gauge')).toBe(true);
    const status = samples.filter((s) => s.name === 'pg_preflight_check_status');
    expect(status.map((s) => `${s.labels.database}|${s.labels.check}|${s.labels.status}|${s.value}`).sort()).toEqual(
      results.map((r) => `${r.database}|${r.id}|${r.status}|1`).sort(),
    );
    // The same problems as every other format, at check level.
    const problemsHere = status.filter((s) => isProblem(s.labels.status!)).map((s) => `${s.labels.database}|${s.labels.check}`);
    expect(problemsHere.sort()).toEqual([...new Set(expected.map((e) => e.split('|').slice(0, 2).join('|')))].sort());
    const severity = samples.filter((s) => s.name === 'pg_preflight_check_severity');
    expect(severity.find((s) => s.labels.check === 'database-encoding' && s.labels.database === 'main')!.value).toBe(4);
    expect(samples.filter((s) => s.name === 'pg_preflight_database_up').map((s) => s.value)).toEqual([1, 1]);
    const ts = samples.find((s) => s.name === 'pg_preflight_last_run_timestamp_seconds')!.value;
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(600);
    expect(samples.find((s) => s.name === 'pg_preflight_run_duration_seconds')!.value).toBeGreaterThan(0);
  });

  it('text in a file: no colour codes, the same problems', () => {
    expect(out.text).not.toContain('\x1b[');
    expect(out.text).toMatch(/✖ error\s+database-encoding \[main\]/);
    expect(out.text).toMatch(/! warning\s+database-locale \[state\]/);
  });

  it.each(FORMATS.filter((f) => f !== 'json'))('--format %s alone prints that format on stdout', async (format) => {
    const r = await runCli(['--config', config, '--format', format]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    if (format === 'sarif') expect(validSarif(r.stdout).runs[0]!.results.length).toBe(expected.length);
    if (format === 'junit') expect(Number(parseJunit(r.stdout)['@_failures'])).toBe(results.filter((x) => x.status === 'error').length);
    if (format === 'github') expect(parseWorkflowCommands(r.stdout).annotations).toHaveLength(expected.length);
    if (format === 'prometheus') expect(parsePrometheus(r.stdout).samples.length).toBeGreaterThan(results.length);
    if (format === 'text') expect(r.stdout).toContain('Summary:');
  });
});

describe('--output and --report', () => {
  const pg18 = () => sharedServers().find((s) => s.major === 18)!;

  it('--output writes the main format atomically, replaces the old file and leaves no temporary file', async () => {
    const db = await createDatabase(pg18(), 'rep_out', { encoding: 'SQL_ASCII' });
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-output-'));
    const file = join(dir, 'pg_preflight.prom');
    writeFileSync(file, 'stale\n');
    const dsn = `postgresql://postgres@${pg18().host}:${pg18().port}/${db}`;
    const r = await runCli(['--dsn', dsn, '--format', 'prometheus', '--output', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const { samples } = parsePrometheus(readFileSync(file, 'utf8'));
    expect(samples.find((s) => s.labels.check === 'database-encoding')!.labels.status).toBe('error');
    expect(readdirSync(dir)).toEqual(['pg_preflight.prom']);
    // A DSN target has no config file: SARIF places database findings at postgresql/<db>/...
    const sarif = join(dir, 'out.sarif');
    await runCli(['--dsn', dsn, '--format', 'sarif', '--output', sarif]);
    const result = validSarif(readFileSync(sarif, 'utf8')).runs[0]!.results.find((x) => x.ruleId === 'database-encoding')!;
    expect(result.locations[0]!.physicalLocation.artifactLocation.uri).toBe(`postgresql/${db}`);
    expect(result.locations[0]!.logicalLocations![0]).toMatchObject({ fullyQualifiedName: db, kind: 'database' });
  });

  it('a database that cannot be reached: exit 3, and every report says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-down-'));
    const { files, argv } = reportFlags(dir);
    const port = await freePort();
    const r = await runCli(['--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--format', 'json', ...argv]);
    expect(r.code).toBe(3);
    const sarif = validSarif(readFileSync(files.sarif, 'utf8')).runs[0]!;
    expect(sarif.invocations[0]!.executionSuccessful).toBe(false);
    expect(sarif.invocations[0]!.toolExecutionNotifications![0]!.message.text).toMatch(/^database master could not be checked: /);
    const junit = parseJunit(readFileSync(files.junit, 'utf8'));
    expect(junit['@_errors']).toBe('1');
    expect(junit.testsuite[0]!.testcase[0]!.error!['@_type']).toBe('connect-refused');
    const gh = parseWorkflowCommands(readFileSync(files.github, 'utf8')).annotations;
    expect(gh.map((a) => [a.command, a.properties.title])).toEqual([['error', 'pg-preflight: database master could not be checked']]);
    const up = parsePrometheus(readFileSync(files.prometheus, 'utf8')).samples.filter((s) => s.name === 'pg_preflight_database_up');
    expect(up.map((s) => s.value)).toEqual([0]);
  });

  it('a bad --report or an unwritable path is exit 2 before any database is contacted', async () => {
    const nowhere = ['--dsn', 'postgresql://u@127.0.0.1:1/db'];
    const bad = await runCli([...nowhere, '--report', 'xml:out.xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--report takes FORMAT:FILE with FORMAT one of text, json, sarif, junit, github, prometheus');
    const noDir = await runCli([...nowhere, '--report', 'sarif:/nonexistent-dir/x.sarif']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('the directory /nonexistent-dir does not exist');
    const same = await runCli([...nowhere, '--output', '/tmp/x.sarif', '--report', 'junit:/tmp/x.sarif']);
    expect(same.code).toBe(2);
  });
});

describe('the password appears in no format', () => {
  // A secret can reach a report through data the server returns. Here the database itself is
  // named like the password, with characters every format escapes differently (XML, workflow
  // commands, Prometheus labels, JSON, URIs); every output must hide it in every form.
  const PASSWORD = 'S3cret:pa,ss&<w>"rd%';
  let server: ThrowawayServer;
  let config: string;
  let dir: string;

  beforeAll(async () => {
    server = await startPasswordServer({ role: 'synapse_user', password: PASSWORD, database: PASSWORD, encoding: 'SQL_ASCII' });
    dir = mkdtempSync(join(tmpdir(), 'pgpf-secret-'));
    config = join(dir, 'homeserver.yaml');
    writeFileSync(
      config,
      `database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: ${JSON.stringify(PASSWORD)}\n    dbname: ${JSON.stringify(PASSWORD)}\n    host: 127.0.0.1\n    port: ${server.port}\n`,
    );
  });
  afterAll(async () => server?.stop());

  it.each(FORMATS)('--format %s, with every --report and the job summary', async (format) => {
    const { files, argv } = reportFlags(mkdtempSync(join(dir, `${format}-`)));
    const summaryFile = join(dirname(files.text), 'summary.md');
    const r = await runCli(['--config', config, '--format', format, ...argv], { GITHUB_STEP_SUMMARY: summaryFile });
    expect(r.code).toBe(1);
    const outputs: Record<string, string> = {
      stdout: r.stdout,
      stderr: r.stderr,
      summary: readFileSync(summaryFile, 'utf8'),
      ...Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f, 'utf8')])),
    };
    const forms = [PASSWORD, xmlEscape(PASSWORD), xmlAttr(PASSWORD), escapeData(PASSWORD), escapeProperty(PASSWORD), escapeLabel(PASSWORD), encodeURIComponent(PASSWORD), JSON.stringify(PASSWORD).slice(1, -1), PASSWORD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'), escapeHtml(PASSWORD)];
    for (const [name, text] of Object.entries(outputs)) {
      for (const form of forms) expect(text, `${name} holds the password as ${form}`).not.toContain(form);
    }
    // Not vacuous: the database name was in every report, and redaction replaced it.
    for (const name of ['stdout', 'summary', 'text', 'sarif', 'junit', 'github', 'prometheus', 'html']) {
      expect(outputs[name], name).toContain('********');
    }
    validSarif(outputs.sarif!);
    parseJunit(outputs.junit!);
    parseWorkflowCommands(outputs.github!);
    parsePrometheus(outputs.prometheus!);
  });
});

describe('waived findings are shown as waived in every format', () => {
  const REASON = 'known: fixed in the next maintenance window';
  const waivedCheck: Check = defineCheck({
    id: 'test-waived',
    title: 'A test check with one waived finding',
    description: 'Returns a waived error and a warning nobody accepted.',
    docs: 'Test only.',
    async run({ facts }) {
      return [
        {
          status: 'error',
          message: 'an accepted problem',
          object: 'public.events_stream_seq',
          details: { configKey: 'database.allow_unsafe_locale' },
          waived: { reason: REASON, expires: '2099-12-31' },
          remediation: [{ kind: 'sql', title: 'Would fix it', text: 'SELECT 1;' }],
        },
        { status: 'warning', message: 'a problem nobody accepted', object: facts.database },
      ];
    },
  });
  let report: Report;
  let dir: string;
  let yamlText: string;
  const render = (format: Format, failOn: 'error' | 'warning' = 'error') => renderReport(format, report, { checks: [waivedCheck], failOn, baseDir: dir });

  beforeAll(async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    const db = await createDatabase(server, 'rep_waived');
    dir = mkdtempSync(join(tmpdir(), 'pgpf-waived-'));
    yamlText = `database:\n  name: psycopg2\n  allow_unsafe_locale: true\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`;
    writeFileSync(join(dir, 'homeserver.yaml'), yamlText);
    const { targets } = resolveTargets({ configPaths: [join(dir, 'homeserver.yaml')], env: { HOME: '/nonexistent' } });
    report = await runChecks({ targets, checks: [waivedCheck] });
  });

  it('SARIF: a suppression with the reason, at the line of the config key the finding names', async () => {
    const run = validSarif(await render('sarif')).runs[0]!;
    const [accepted, open] = run.results;
    expect(accepted!.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: `${REASON} (until 2099-12-31)` }]);
    expect(accepted!.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'homeserver.yaml', uriBaseId: '%SRCROOT%' },
      region: { startLine: lineOf(yamlText, '  allow_unsafe_locale: true') },
    });
    expect(accepted!.locations[0]!.logicalLocations![0]!.fullyQualifiedName).toMatch(/^rep_waived_.*\/public\/events_stream_seq$/);
    expect(open!.suppressions).toBeUndefined();
    expect(open!.locations[0]!.physicalLocation.region!.startLine).toBe(1);
  });

  it('JUnit: the waived error is no failure and says waived; the open warning fails only with --fail-on warning', async () => {
    const testcase = async (failOn: 'error' | 'warning') => parseJunit(await render('junit', failOn)).testsuite[0]!.testcase[0]!;
    const passing = await testcase('error');
    expect(passing.failure).toBeUndefined();
    expect(passing['system-out']).toContain(`waived: ${REASON} (until 2099-12-31)`);
    const failing = await testcase('warning');
    expect(failing.failure!['@_type']).toBe('warning');
    // The object is the database the suite is about: not repeated.
    expect(failing.failure!['@_message']).toBe('warning: a problem nobody accepted');
    expect(failing.failure!['#text']).toContain(`error: public.events_stream_seq: an accepted problem [waived: ${REASON} (until 2099-12-31)]`);
  });

  it('GitHub: the waived finding is a notice that says so, at the config line', async () => {
    const { annotations } = parseWorkflowCommands(await render('github'));
    expect(annotations.map((a) => a.command)).toEqual(['notice', 'warning']);
    expect(annotations[0]!.properties).toEqual({ title: 'test-waived: error, waived', file: 'homeserver.yaml', line: String(lineOf(yamlText, '  allow_unsafe_locale: true')) });
    expect(annotations[0]!.message).toContain(REASON);
  });

  it('Prometheus: waived="true", and the severity that counts is the open warning', async () => {
    const { samples } = parsePrometheus(await render('prometheus'));
    expect(samples.find((s) => s.name === 'pg_preflight_check_status')!.labels).toEqual({ database: 'master', check: 'test-waived', status: 'error', waived: 'true' });
    expect(samples.find((s) => s.name === 'pg_preflight_check_severity')!.value).toBe(3);
  });

  it('text and JSON show the waiver', async () => {
    expect(await render('text')).toContain(`waived (error) until 2099-12-31: ${REASON}`);
    const json = JSON.parse(await render('json'));
    expect(json.results[0].findings[0].waived).toEqual({ reason: REASON, expires: '2099-12-31' });
  });
});

describe('escaping', () => {
  it('workflow commands encode %, CR, LF in data and also : and , in properties', () => {
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext');
    expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
    const line = workflowCommand('error', { title: 'x: y, z', file: 'a,b.yaml', line: 3 }, 'one\n::warning::injected');
    expect(line).toBe('::error title=x%3A y%2C z,file=a%2Cb.yaml,line=3::one%0A::warning::injected');
    expect(parseWorkflowCommands(line).annotations).toEqual([{ command: 'error', properties: { title: 'x: y, z', file: 'a,b.yaml', line: '3' }, message: 'one\n::warning::injected' }]);
  });

  it('XML drops characters XML 1.0 cannot carry and escapes markup; attributes also quotes and line breaks', () => {
    expect(xmlEscape('a<b>&"c\'\u0001\u001b\uD800d\u{1F600}')).toBe('a&lt;b&gt;&amp;"c\'d\u{1F600}');
    expect(xmlAttr('"x"\n\'y\'')).toBe('&quot;x&quot;&#10;&apos;y&apos;');
  });

  it('Prometheus labels escape backslash, quote and line feed', () => {
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('keyLine finds nested keys by indentation, skipping comments and other sections', () => {
    const yaml = ['# database: not this', 'server_name: x', 'database:', '  # args: nor this', '  name: psycopg2', '  "args":', '    cp_min: 5', '    host: db', 'other:', '  args:', '    port: 1'];
    expect(keyLine(yaml, ['database'])).toBe(3);
    expect(keyLine(yaml, ['database', 'args'])).toBe(6);
    expect(keyLine(yaml, ['database', 'args', 'host'])).toBe(8);
    // Not in the section: the deepest enclosing key.
    expect(keyLine(yaml, ['database', 'args', 'port'])).toBe(6);
    expect(keyLine(yaml, ['databases', 'main'])).toBeUndefined();
  });
});

describe('a large report (thousands of findings in one check)', () => {
  const manyCheck: Check = defineCheck({
    id: 'many-findings',
    title: 'Many findings',
    description: 'One finding per object.',
    docs: 'Test only.',
    async run() {
      return [];
    },
  });
  const N = 3000;
  const findings = Array.from({ length: N }, (_, i) => ({
    status: (i % 3 === 0 ? 'error' : 'warning') as Status,
    message: `sequence public.seq_${i} is behind its table`,
    object: `public.seq_${i}`,
    remediation: [{ kind: 'sql' as const, title: 'Move it on', text: `SELECT setval('public.seq_${i}', ${i + 1});` }],
  }));
  const report: Report = {
    targets: [
      {
        target: { label: 'master', connection: { host: 'db', port: 5432, user: 'u', database: 'synapse', sslmode: 'prefer', keywords: {} }, source: 'dsn' },
        results: [summarize(manyCheck, 'master', findings, 1)],
        roundTrips: 1,
        durationMs: 1,
      },
    ],
    summary: { ok: 0, skipped: 0, info: 0, warning: 0, error: 1, failed: 0 },
    durationMs: 2,
  };
  const ctx = { checks: [manyCheck] };

  it('SARIF stays valid with one result per finding, each at a stable place in the database', async () => {
    const results = validSarif(await renderReport('sarif', report, ctx)).runs[0]!.results;
    expect(results).toHaveLength(N);
    expect(results[7]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe('postgresql/synapse/public/seq_7');
    expect(new Set(results.map((r) => JSON.stringify((r as unknown as { partialFingerprints: unknown }).partialFingerprints))).size).toBe(N);
  });

  it('JUnit and GitHub list every finding; the job summary stays under GitHub\'s 1 MiB', async () => {
    const junit = parseJunit(await renderReport('junit', report, ctx)).testsuite[0]!.testcase[0]!;
    expect(junit.failure!['#text']!.split('\n').filter((l) => /^(error|warning): public\.seq_/.test(l))).toHaveLength(N);
    expect(parseWorkflowCommands(await renderReport('github', report, ctx)).annotations).toHaveLength(N);
    const summary = renderStepSummary(report, ctx);
    expect(Buffer.byteLength(summary)).toBeLessThan(1024 * 1024);
    expect(summary).toContain(`… and ${N - 20} more findings`);
    expect(summary).toContain(`… and ${N - 20} more steps`);
  });
});
