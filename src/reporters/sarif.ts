// --format sarif: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. One rule per
// check, one result per problem finding. Code scanning rejects a whole upload when any result
// lacks a physical location, so every result has one: the homeserver.yaml line the target (or
// the config key the finding names) comes from, else a stable path that names the database
// object, `postgresql/<database>/<schema>/<object>`, beside the same place as a logical location.
import { targetName } from '../config/target.js';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Report, TargetReport } from '../runner.js';
import { codesOf } from '../codes.js';
import type { Check, CheckResult, Finding, ReportedFinding, Status } from '../types.js';
import { TOOL } from '../version.js';
import { helpMarkdown } from '../docs/check-page.js';
import { checkDocUri, toolInformationUri } from '../docs/links.js';
import type { ReportContext } from './context.js';
import { isProblem, remediationText } from './findings.js';
import { ConfigLocator, displayPath, logicalPath } from './locate.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

type Level = 'error' | 'warning' | 'note' | 'none';

const LEVELS: Record<Status, Level> = { ok: 'none', skipped: 'none', info: 'note', warning: 'warning', error: 'error', failed: 'error' };

/** The base that relative config paths hang from; code scanning resolves %SRCROOT% to the checkout. */
const SRCROOT = '%SRCROOT%';

interface Rule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown: string };
  helpUri?: string;
  properties?: { tags: string[]; codes?: Record<string, { status: Status; summary: string }> };
}

function pascalCase(id: string): string {
  return id.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());
}

function ruleFor(check: Pick<Check, 'id' | 'title'> & Partial<Check>): Rule {
  const uri = checkDocUri(check.id);
  return {
    id: check.id,
    name: pascalCase(check.id),
    shortDescription: { text: check.title },
    ...(check.description ? { fullDescription: { text: check.description } } : {}),
    ...(check.docs !== undefined && check.description !== undefined
      ? { help: { text: `${check.description}\n\n${check.docs.trim()}`, markdown: helpMarkdown(check as Check) } }
      : {}),
    ...(uri ? { helpUri: uri } : {}),
    properties: {
      tags: ['pg-preflight', ...(check.tags ?? [])],
      ...(check.codes ? { codes: Object.fromEntries(Object.entries(codesOf(check)).map(([c, s]) => [c, { status: s.status, summary: s.summary }])) } : {}),
    },
  };
}

function encodePath(segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s)).join('/');
}

function fingerprint(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** A JSON document, not text: the CLI serializes it. */
export function sarifReport(report: Report, ctx: ReportContext = {}) {
  const baseDir = ctx.baseDir ?? process.cwd();
  const locator = new ConfigLocator();
  const rules: Rule[] = [];
  const ruleIndex = new Map<string, number>();
  const addRule = (check: Pick<Check, 'id' | 'title'> & Partial<Check>) => {
    if (ruleIndex.has(check.id)) return;
    ruleIndex.set(check.id, rules.length);
    rules.push(ruleFor(check));
  };
  for (const check of ctx.checks ?? []) addRule(check);
  for (const t of report.targets) for (const r of t.results) addRule({ id: r.id, title: r.title });

  let usesSrcRoot = false;
  const seenFingerprints = new Map<string, number>();

  const location = (t: TargetReport, f: Finding) => {
    const logical = logicalPath(t, f);
    const logicalLocations = [
      {
        name: logical[logical.length - 1]!,
        fullyQualifiedName: logical.join('/'),
        kind: logical.length === 1 ? 'database' : 'object',
      },
    ];
    const config = locator.locate(t.target, f);
    if (config) {
      const shown = displayPath(config.file, baseDir);
      usesSrcRoot ||= shown.relative;
      const artifactLocation = shown.relative ? { uri: encodePath(shown.path.split('/')), uriBaseId: SRCROOT } : { uri: pathToFileURL(shown.path).href };
      // Code scanning needs a line; 1 stands for the whole file when the key is not found in it.
      return { physicalLocation: { artifactLocation, region: { startLine: config.line ?? 1 } }, logicalLocations };
    }
    return {
      physicalLocation: { artifactLocation: { uri: encodePath(['postgresql', ...logical]) }, region: { startLine: 1 } },
      logicalLocations,
    };
  };

  const resultFor = (t: TargetReport, r: CheckResult, f: ReportedFinding) => {
    // Identity, not position: check, database, code and object. A finding keeps its fingerprint
    // when others come and go, and when its status changes by degree (warning to error). Only
    // findings alike in all four are told apart by their order.
    const key = [r.id, targetName(t.target), f.code, f.object ?? ''];
    const n = seenFingerprints.get(key.join('\0')) ?? 0;
    seenFingerprints.set(key.join('\0'), n + 1);
    const steps = f.remediation ?? [];
    return {
      ruleId: r.id,
      ruleIndex: ruleIndex.get(r.id)!,
      level: LEVELS[f.status],
      message: { text: steps.length > 0 ? `${f.message}\n\nHow to fix:\n${remediationText(steps)}` : f.message },
      locations: [location(t, f)],
      partialFingerprints: { 'pgPreflightFinding/v2': fingerprint([...key, String(n)]) },
      ...(f.waived
        ? { suppressions: [{ kind: 'external', status: 'accepted', justification: f.waived.expires ? `${f.waived.reason} (until ${f.waived.expires})` : f.waived.reason }] }
        : {}),
      properties: {
        database: targetName(t.target),
        code: f.code,
        status: f.status,
        ...(f.object ? { object: f.object } : {}),
        ...(f.details ? { details: f.details } : {}),
        ...(f.waived ? { waived: f.waived } : {}),
      },
    };
  };

  const results = [];
  // Skipped checks and unreachable databases are facts about the run, not problems in the code:
  // notifications, so that code scanning opens no alert for them.
  const notifications = [];
  for (const t of report.targets) {
    if (t.error) {
      notifications.push({
        level: 'error' as Level,
        message: { text: `database ${targetName(t.target)} could not be checked: ${t.error.message}` },
        properties: { database: targetName(t.target), code: t.error.code },
      });
    }
    for (const r of t.results) {
      for (const f of r.findings) {
        if (isProblem(f)) results.push(resultFor(t, r, f));
        else if (f.status === 'skipped') {
          notifications.push({
            level: 'note' as Level,
            message: { text: `${r.id} skipped on ${targetName(t.target)}: ${f.message}` },
            associatedRule: { id: r.id, index: ruleIndex.get(r.id)! },
            properties: { database: targetName(t.target) },
          });
        }
      }
    }
  }

  const end = ctx.now ?? new Date();
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0' as const,
    runs: [
      {
        tool: {
          driver: {
            name: TOOL.name,
            version: TOOL.version,
            semanticVersion: TOOL.version,
            informationUri: toolInformationUri(),
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: !report.targets.some((t) => t.error),
            endTimeUtc: end.toISOString(),
            ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}),
          },
        ],
        ...(usesSrcRoot ? { originalUriBaseIds: { [SRCROOT]: { uri: pathToFileURL(baseDir.endsWith('/') ? baseDir : `${baseDir}/`).href } } } : {}),
        results,
        properties: { summary: report.summary, durationMs: Math.round(report.durationMs) },
      },
    ],
  };
}

export function renderSarif(report: Report, ctx: ReportContext = {}): string {
  return JSON.stringify(sarifReport(report, ctx), null, 2) + '\n';
}
