// --format html, read the way a reader reads it: Debian's chromium opens the report of a real run
// against broken databases (hostile object names, a waiver), prints it to PDF and photographs it
// at phone width. The page's text comes back through the browser (pdftotext of its print), its
// structure through the DOM after its script ran. Skipped visibly where chromium is missing;
// .ci/run installs it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, quoteQualified } from '../src/quote.js';
import { redact } from '../src/redact.js';
import { renderReport, secretFormsFor } from '../src/reporters/index.js';
import { escapeHtml, renderHtml } from '../src/reporters/html.js';
import { summarize, type Report } from '../src/runner.js';
import { STATUSES, type Finding, type Status } from '../src/types.js';
import { CHROMIUM, dumpDom, PDFTOTEXT, pdfText, printToPdf, screenshot } from './helpers/chromium.js';
import { runReport } from './helpers/check.js';
import { runCli } from './helpers/cli.js';
import { fixtureSql } from './helpers/fixtures.js';
import { dsnFor, sharedServers, sql, uniqueName } from './helpers/servers.js';

const BROWSER = Boolean(CHROMIUM && PDFTOTEXT);
const browserTest = (name: string) => `${name}${BROWSER ? '' : ` (skipped: ${CHROMIUM ? 'pdftotext (poppler-utils)' : 'chromium'} not installed)`}`;

/** A schema and a database named to break out of HTML if anything went unescaped. */
const HOSTILE_SCHEMA = `x"><script>document.title='pwned'</script>`;
const hostileDatabase = () => `${uniqueName('rep_html')}"><img src=x onerror="document.title='pwned'">'`;
const REASON = 'accepted until the <b>Q3</b> "maintenance" window';

interface JsonFinding { status: Status; message: string; object?: string; remediation?: { kind: string; text: string }[]; waived?: { reason: string } }
interface JsonResult { id: string; status: Status; findings: JsonFinding[] }

/** Text as pdftotext gives it back: ligatures unfolded, every line break and space dropped. */
const squeeze = (s: string) => s.normalize('NFKC').replace(/\s+/g, '');
const unescapeDom = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&');

function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(b.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe.each(sharedServers())('the HTML report of a broken database, PostgreSQL $major', (server) => {
  let dir: string;
  let file: string;
  let html: string;
  let results: JsonResult[];
  let findings: JsonFinding[];
  let database: string;
  let code: number;

  beforeAll(async () => {
    database = hostileDatabase();
    await sql(server, 'postgres', `CREATE DATABASE ${quoteIdent(database)} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await sql(server, database, [
      fixtureSql('sequence-drift/generic-app.sql'),
      `CREATE SCHEMA ${quoteIdent(HOSTILE_SCHEMA)};`,
      `CREATE TABLE ${quoteQualified(HOSTILE_SCHEMA, 't')} (id serial PRIMARY KEY);`,
      `INSERT INTO ${quoteQualified(HOSTILE_SCHEMA, 't')} (id) SELECT g FROM generate_series(1, 9) g;`,
    ].join('\n'));
    dir = mkdtempSync(join(tmpdir(), 'pgpf-html-'));
    file = join(dir, 'report.html');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `waivers:\n  - check: sequence-drift\n    object: app.countdown_seq\n    reason: ${JSON.stringify(REASON)}\n    expires: 2099-12-31\n`);
    const r = await runCli(['check', '--dsn', dsnFor(server, database), '--rules', rules, '--only', 'sequence-drift,server-version,database-encoding', '--format', 'json', '--report', `html:${file}`]);
    code = r.code;
    expect(r.stderr).toBe('');
    results = JSON.parse(r.stdout).results;
    findings = results.flatMap((x) => x.findings);
    html = readFileSync(file, 'utf8');
  }, 120_000);

  it('the run: drifted sequences (one with a hostile schema name, one waived), exit 1', () => {
    expect(code).toBe(1);
    const drift = results.find((x) => x.id === 'sequence-drift')!;
    expect(drift.status).toBe('error');
    expect(drift.findings.some((f) => f.object?.includes('<script>'))).toBe(true);
    expect(drift.findings.find((f) => f.object === 'app.countdown_seq')!.waived!.reason).toBe(REASON);
  });

  it('one file that loads nothing: no external URL, one inline script, a CSP that allows only itself', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).not.toMatch(/\b(?:src|href)="(?!#)/);
    expect(html).not.toMatch(/https?:\/\/|@import|url\(|<link\b|@font-face/);
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-`);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('@media print');
    expect(html).toContain('prefers-color-scheme: dark');
    // The names are there, as text.
    expect(html).toContain(escapeHtml(quoteIdent(HOSTILE_SCHEMA)));
    expect(html).toContain(escapeHtml(database));
    expect(html).not.toContain('<script>document');
    expect(html).not.toContain('<img');
  });

  it('redaction finds a secret in its HTML-escaped form, in text and attributes', async () => {
    // The hostile database name stands in for a password: quotes and <> escape differently.
    const out = redact(html, await secretFormsFor('html', [database]));
    expect(out).not.toContain(escapeHtml(database));
    expect(out).toContain('********');
  });

  it.skipIf(!BROWSER)(browserTest('chromium: every finding and every fix block in the printed text, copy buttons on screen only, waived shown as waived'), () => {
    const pdf = join(dir, 'report.pdf');
    printToPdf(file, pdf);
    expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = pdfText(pdf);
    const page = squeeze(text);
    expect(findings.length).toBeGreaterThan(5);
    for (const f of findings) {
      expect(page, f.message).toContain(squeeze(f.message));
      for (const step of f.remediation ?? []) expect(page, step.text).toContain(squeeze(step.text));
    }
    expect(page).toContain(squeeze(`waived: ${REASON} (until 2099-12-31)`));
    expect(page).toContain(squeeze(quoteIdent(HOSTILE_SCHEMA)));
    expect(page).toContain(squeeze(database));
    // Run metadata: the tool, the server, when.
    expect(text).toMatch(/pg-preflight \d+\.\d+\.\d+/);
    expect(page).toContain(squeeze(`master: PostgreSQL ${server.version}`));
    expect(text).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    // Print CSS hides the buttons the script added for the screen.
    expect(text).not.toMatch(/\bCopy\b/);

    const dom = dumpDom(file, { width: 390, height: 844 }).stdout;
    const rows = [...dom.matchAll(/<li class="finding s-(\w+)" data-check="([^"]*)" data-status="(\w+)"( data-waived="true")?>/g)];
    expect(rows).toHaveLength(findings.length);
    expect(rows.filter((r) => r[4]).map((r) => r[1])).toEqual(['waived']);
    const blocks = (dom.match(/<pre id=/g) ?? []).length;
    expect(blocks).toBeGreaterThan(0);
    expect((dom.match(/<button type="button" class="copy"/g) ?? []).length).toBe(blocks);
    // Nothing the names carried became an element or ran.
    expect(dom.match(/<script\b/g)).toHaveLength(1);
    expect(dom).not.toContain('<img');
    expect(unescapeDom(/<title>([^<]*)<\/title>/.exec(dom)![1]!)).toBe(`pg-preflight report: master (${database})`);
    // Groups in the order a reader works through them.
    const groups = [...dom.matchAll(/data-group="(\w+)"/g)].map((m) => m[1]!);
    const order = ['failed', 'error', 'warning', 'info', 'waived', 'skipped', 'ok'];
    expect(groups).toEqual(order.filter((g) => groups.includes(g)));
    expect(groups).toContain('error');
    expect(groups).toContain('waived');

    const png = join(dir, 'phone.png');
    screenshot(file, png, { width: 390, height: 844 });
    expect(pngSize(png)).toEqual({ width: 390, height: 844 });
  }, 180_000);
});

describe('the HTML report of 10,000 findings', () => {
  let report: Report;
  const N = 10_000;

  beforeAll(async () => {
    const server = sharedServers().find((s) => s.major === 18)!;
    const database = uniqueName('rep_html_big');
    await sql(server, 'postgres', `CREATE DATABASE ${quoteIdent(database)} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await sql(server, database, fixtureSql('sequence-drift/generic-app.sql'));
    const r = await runCli(['check', '--dsn', dsnFor(server, database), '--only', 'sequence-drift', '--format', 'json']);
    const real = JSON.parse(r.stdout).results[0] as { id: string; title: string; findings: Finding[] };
    const problems = real.findings.filter((f) => f.status !== 'ok');
    expect(problems.length).toBeGreaterThan(3);
    // The real findings, repeated with a number each, so that every row can be told apart.
    const many = Array.from({ length: N }, (_, i) => {
      const f = problems[i % problems.length]!;
      return { ...f, object: `${f.object}#${i}`, message: `${f.message} [${i}]`, remediation: f.remediation?.map((s) => ({ ...s, text: `${s.text} -- ${i}` })) };
    });
    const result = summarize({ id: real.id, title: real.title }, 'master', many, 100);
    const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
    summary[result.status]++;
    const shell = await runReport(server, database, ['sequence-drift']);
    report = { ...shell, targets: [{ ...shell.targets[0]!, results: [result] }], summary };
  }, 120_000);

  it('renders as the library API and the CLI registry give it', async () => {
    // One time for both: the page shows when it was made.
    const now = new Date();
    expect(await renderReport('html', report, { now })).toBe(renderHtml(report, { now }));
  });

  it.skipIf(!BROWSER)(browserTest('chromium opens it and shows all 10,000 rows, each with its copy button (time: npm run bench:html)'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-html-big-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    const dom = dumpDom(file).stdout;
    const seen = [...dom.matchAll(/<li class="finding s-\w+"[^>]*><p class="head">.*?<p class="message">[^<]* \[(\d+)\]<\/p>/g)].map((m) => Number(m[1]));
    expect(seen).toHaveLength(N);
    expect(new Set(seen).size).toBe(N);
    expect(Math.max(...seen)).toBe(N - 1);
    const blocks = (dom.match(/<pre id=/g) ?? []).length;
    expect(blocks).toBe(N);
    expect((dom.match(/<button type="button" class="copy"/g) ?? []).length).toBe(N);
  }, 300_000);
});

describe('the HTML report without a browser', () => {
  it('a database that cannot be reached: exit 3, the page says so with the error', async () => {
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', '--format', 'html']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('<span class="badge b-failed">not checked</span>');
    expect(r.stdout).toContain('not reached');
  });

  it('--report lists html among the formats', async () => {
    const r = await runCli(['--dsn', 'postgresql://u@127.0.0.1:1/db', '--report', 'xml:out.xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('html');
  });
});
