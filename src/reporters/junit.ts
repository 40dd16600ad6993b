// --format junit: JUnit XML as GitLab (artifacts:reports:junit) and Jenkins (junit step) read it.
// One testsuite per configured database, one testcase per check. A check at or above --fail-on
// is a <failure> (a check that could not run, `failed`, is an <error>); `skipped` is <skipped>;
// anything below the threshold passes, with what it found in <system-out>. Waived problems never
// fail: the testcase passes and says it is waived.
import { targetName } from '../config/target.js';
import type { Report, TargetReport } from '../runner.js';
import type { CheckResult } from '../types.js';
import { TOOL } from '../version.js';
import type { ReportContext } from './context.js';
import { countedStatus, fails, findingLine, problems, remediationText, seenStatus } from './findings.js';

// XML 1.0 cannot carry most control characters even escaped, nor lone surrogates: drop them.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Element text: markup characters escaped, quotes left as they are so that commands stay readable. */
export function xmlEscape(text: string): string {
  return text.replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also escape quotes, and keep line breaks only as character references. */
export function xmlAttr(text: string): string {
  return xmlEscape(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

const attr = xmlAttr;

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

interface Case {
  xml: string;
  failure: boolean;
  error: boolean;
  skipped: boolean;
}

function details(r: CheckResult, database: string): string {
  const lines = problems(r).map((f) => `${f.status}: ${findingLine(f, database)}`);
  if (r.remediation.length > 0) lines.push('', 'How to fix:', remediationText(r.remediation));
  return lines.join('\n');
}

/** The codes of the check's findings, as testcase properties (GitLab and Jenkins show them). */
function codeProperties(r: CheckResult): string {
  const codes = [...new Set(r.findings.map((f) => f.code))];
  return `\n      <properties>\n${codes.map((c) => `        <property name="code" value="${attr(c)}"/>`).join('\n')}\n      </properties>`;
}

function testcase(t: TargetReport, r: CheckResult, ctx: ReportContext): Case {
  const failOn = ctx.failOn ?? 'error';
  const counted = countedStatus(r);
  const database = t.facts?.database ?? t.target.connection.database;
  const open = `    <testcase name="${attr(r.id)}" classname="${attr(`${TOOL.name}.${targetName(t.target)}`)}" time="${seconds(r.durationMs)}">`;
  // After the outcome: readers that look for <failure> first (and this project's tests) find it there.
  const close = `${codeProperties(r)}\n    </testcase>`;
  if (fails(counted, failOn)) {
    const tag = counted === 'failed' ? 'error' : 'failure';
    const message = problems(r).filter((f) => !f.waived && f.status === counted).map((f) => findingLine(f, database)).join('; ');
    return {
      xml: `${open}\n      <${tag} message="${attr(`${counted}: ${message}`)}" type="${counted}">${xmlEscape(details(r, database))}</${tag}>${close}`,
      failure: tag === 'failure',
      error: tag === 'error',
      skipped: false,
    };
  }
  if (seenStatus(r) === 'skipped') {
    return { xml: `${open}\n      <skipped message="${attr(r.message)}"/>${close}`, failure: false, error: false, skipped: true };
  }
  // Passes: below --fail-on, or waived. Say what was seen, so a warning or a waiver stays visible.
  const out = problems(r).length > 0 ? details(r, database) : r.message;
  return { xml: `${open}\n      <system-out>${xmlEscape(out)}</system-out>${close}`, failure: false, error: false, skipped: false };
}

function testsuite(t: TargetReport, ctx: ReportContext, timestamp: string): { xml: string; tests: number; failures: number; errors: number; skipped: number } {
  const cases: Case[] = t.results.map((r) => testcase(t, r, ctx));
  if (t.error) {
    // The database could not be reached: one testcase that errors, so the pipeline shows why.
    const message = `${t.error.message} [${t.error.code}]`;
    const text = t.error.remediation.length > 0 ? `${message}\n\nHow to fix:\n${remediationText(t.error.remediation)}` : message;
    cases.push({
      xml: `    <testcase name="connection" classname="${attr(`${TOOL.name}.${targetName(t.target)}`)}" time="${seconds(t.durationMs)}">\n      <error message="${attr(message)}" type="${attr(t.error.code)}">${xmlEscape(text)}</error>\n    </testcase>`,
      failure: false,
      error: true,
      skipped: false,
    });
  }
  const count = (k: 'failure' | 'error' | 'skipped') => cases.filter((c) => c[k]).length;
  const totals = { tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
  const name = `${targetName(t.target)} (${t.facts?.database ?? t.target.connection.database})`;
  const props = [
    ['database', t.facts?.database ?? t.target.connection.database],
    // With several hosts, the one checked.
    ['host', t.connectedTo?.host ?? t.target.connection.host],
    ['port', String(t.connectedTo?.port ?? t.target.connection.port)],
    ...(t.passedOver?.length ? [['passed_over', t.passedOver.map((p) => `${p.host}:${p.port} (${p.reason})`).join('; ')]] : []),
    ...(t.facts ? [['server_version', t.facts.version]] : []),
  ];
  const xml = [
    `  <testsuite name="${attr(name)}" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" skipped="${totals.skipped}" time="${seconds(t.durationMs)}" timestamp="${timestamp}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${attr(k!)}" value="${attr(v!)}"/>`),
    '    </properties>',
    ...cases.map((c) => c.xml),
    '  </testsuite>',
  ].join('\n');
  return { xml, ...totals };
}

export function renderJunit(report: Report, ctx: ReportContext = {}): string {
  // JUnit timestamps are ISO 8601 without a zone designator in the classic schema; GitLab and
  // Jenkins read them as given.
  const timestamp = (ctx.now ?? new Date()).toISOString().replace(/\.\d+Z$/, '');
  const suites = report.targets.map((t) => testsuite(t, ctx, timestamp));
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped') => suites.reduce((n, s) => n + s[k], 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(TOOL.name)}" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" skipped="${sum('skipped')}" time="${seconds(report.durationMs)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}
