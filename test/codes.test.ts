// Finding codes: declared by every built-in check, carried by every finding, shown by every
// machine format, matched by waivers, and the basis of SARIF fingerprints.
import { describe, expect, it } from 'vitest';
import { BUILTIN_CHECKS } from '../checks/index.js';
import { CODE_PATTERN, DEFAULT_CODE, RUNNER_CODES } from '../src/codes.js';
import { defineCheck } from '../src/define-check.js';
import { renderReport } from '../src/reporters/index.js';
import { applyRules } from '../src/rules/apply.js';
import { parseRules } from '../src/rules/load.js';
import { resolveRules } from '../src/rules/resolve.js';
import { summarize, type Report } from '../src/runner.js';
import type { Check, Finding } from '../src/types.js';
import { parseJunit, parsePrometheus, parseWorkflowCommands, validSarif } from './helpers/formats.js';

const memoryLike: Check = defineCheck({
  id: 'two-unnamed',
  title: 'Two findings without an object',
  description: 'As memory-settings returns them.',
  docs: 'Test only.',
  codes: {
    'first-problem': { status: 'warning', summary: 'The first.' },
    'second-problem': { status: 'warning', summary: 'The second.' },
  },
  async run() {
    return [];
  },
});

function reportOf(check: Check, findings: Finding[]): Report {
  return {
    targets: [
      {
        target: { label: 'master', connection: { host: 'db', port: 5432, user: 'u', database: 'synapse', sslmode: 'prefer', keywords: {} }, source: 'dsn' },
        results: [summarize(check, 'master', findings, 1)],
        roundTrips: 1,
        durationMs: 1,
      },
    ],
    summary: { ok: 0, skipped: 0, info: 0, warning: 1, error: 0, failed: 0 },
    durationMs: 2,
  };
}

const first: Finding = { code: 'first-problem', status: 'warning', message: 'shared_buffers is low' };
const second: Finding = { code: 'second-problem', status: 'warning', message: 'the worst case is over memory' };

describe('every built-in check declares its codes', () => {
  it.each(BUILTIN_CHECKS.map((c) => [c.id, c] as const))('%s: kebab-case codes, each with a status and a one-line summary', (_id, check) => {
    const codes = Object.entries(check.codes ?? {});
    expect(codes.length).toBeGreaterThan(0);
    for (const [code, spec] of codes) {
      expect(code).toMatch(CODE_PATTERN);
      expect(RUNNER_CODES[code], `${code} is a runner code`).toBeUndefined();
      expect(spec.summary.length).toBeGreaterThan(0);
      expect(spec.summary).not.toContain('\n');
    }
  });
});

describe('the runner gives every finding a code', () => {
  it('a plugin finding without one gets the default code; no findings is no-findings', async () => {
    const plain = defineCheck({ id: 'plugin-x', title: 't', description: 'd', docs: 'x', run: async () => [] });
    expect(summarize(plain, 'master', [{ status: 'warning', message: 'm' }], 0).findings[0]!.code).toBe(DEFAULT_CODE);
    expect(summarize(plain, 'master', [], 0).findings[0]!.code).toBe('no-findings');
  });
});

describe('SARIF fingerprints follow check, code and object, not position', () => {
  const fingerprints = async (findings: Finding[]) =>
    Object.fromEntries(
      validSarif(await renderReport('sarif', reportOf(memoryLike, findings), { checks: [memoryLike] })).runs[0]!.results.map((r) => [
        (r as unknown as { properties: { code: string } }).properties.code,
        JSON.stringify((r as unknown as { partialFingerprints: unknown }).partialFingerprints),
      ]),
    );

  it('when one of two unnamed findings goes away, the other keeps its fingerprint', async () => {
    const both = await fingerprints([first, second]);
    expect(both['first-problem']).not.toBe(both['second-problem']);
    expect((await fingerprints([second]))['second-problem']).toBe(both['second-problem']);
    expect(await fingerprints([second, first])).toEqual(both);
    // A change of degree (warning to error) is the same finding.
    expect((await fingerprints([first, { ...second, status: 'error' }]))['second-problem']).toBe(both['second-problem']);
  });

  it('the rule lists the codes; the result names its code', async () => {
    const run = validSarif(await renderReport('sarif', reportOf(memoryLike, [first]), { checks: [memoryLike] })).runs[0]!;
    const rule = run.tool.driver.rules!.find((r) => r.id === 'two-unnamed')! as unknown as { properties: { codes: Record<string, unknown> } };
    expect(Object.keys(rule.properties.codes)).toEqual(['first-problem', 'second-problem', ...Object.keys(RUNNER_CODES)]);
  });
});

describe('JSON, JUnit, GitHub and Prometheus show the code', () => {
  const report = reportOf(memoryLike, [first, second]);
  it('JSON: on every finding', async () => {
    const doc = JSON.parse(await renderReport('json', report));
    expect(doc.results[0].findings.map((f: { code: string }) => f.code)).toEqual(['first-problem', 'second-problem']);
  });
  it('JUnit: as testcase properties', async () => {
    const xml = await renderReport('junit', report, { failOn: 'warning' });
    parseJunit(xml);
    expect(xml).toContain('<property name="code" value="first-problem"/>');
    expect(xml).toContain('<property name="code" value="second-problem"/>');
  });
  it('GitHub: each annotation ends with check/code', async () => {
    const { annotations } = parseWorkflowCommands(await renderReport('github', report));
    expect(annotations.map((a) => a.message.split('\n').at(-1))).toEqual(['Code: two-unnamed/first-problem', 'Code: two-unnamed/second-problem']);
  });
  it('Prometheus: a code label on pg_preflight_findings', async () => {
    const { samples } = parsePrometheus(await renderReport('prometheus', report));
    expect(samples.filter((s) => s.name === 'pg_preflight_findings').map((s) => `${s.labels.code}|${s.labels.status}|${s.value}`)).toEqual([
      'first-problem|warning|1',
      'second-problem|warning|1',
    ]);
  });
});

describe('waivers may match on code', () => {
  const rulesText = (code: string) => `waivers:\n  - check: two-unnamed\n    code: ${code}\n    reason: accepted until the upgrade\n    expires: 2099-12-31\n`;
  it('only the finding of that code is waived', async () => {
    const rules = resolveRules(parseRules(rulesText('second-problem'), '/x/pg-preflight.yaml', '/x'), [memoryLike]);
    const out = applyRules(reportOf(memoryLike, [first, second]), rules, new Date('2026-01-01'));
    expect(out.targets[0]!.results[0]!.findings.map((f) => [f.code, Boolean(f.waived)])).toEqual([
      ['first-problem', false],
      ['second-problem', true],
    ]);
  });
  it('a code the check does not declare is a usage error that lists its codes', async () => {
    expect(() => resolveRules(parseRules(rulesText('no-such-code'), '/x/pg-preflight.yaml', '/x'), [memoryLike])).toThrow(
      /pg-preflight\.yaml:3: waivers\[0\]\.code: two-unnamed has no code "no-such-code"; its codes are first-problem, second-problem/,
    );
  });
});
