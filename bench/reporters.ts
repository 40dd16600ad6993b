// npm run bench:reporters — what each output format costs on a large report: one database with
// 10,000 drifted sequences (one finding each, with its setval remediation), the size the
// sequences check reports on a big homeserver. No database needed: the Report is built here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseTarget } from '../src/config/target.js';
import { defineCheck } from '../src/define-check.js';
import { quoteLiteral, quoteQualified } from '../src/quote.js';
import { redact } from '../src/redact.js';
import { renderStepSummary } from '../src/reporters/github.js';
import { FORMATS, loadReporter, secretFormsFor, type Format } from '../src/reporters/index.js';
import { summarize, type Report } from '../src/runner.js';
import { STATUSES, type Finding, type ServerFacts, type Status } from '../src/types.js';

const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const dir = mkdtempSync(join(tmpdir(), 'pgpf-bench-'));
const config = join(dir, 'homeserver.yaml');
writeFileSync(config, 'database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: not-the-real-one\n    dbname: synapse\n    host: db.example.org\n');

const target: DatabaseTarget = {
  label: 'master',
  connection: { host: 'db.example.org', port: 5432, user: 'synapse_user', database: 'synapse', password: 'not-the-real-one', sslmode: 'prefer', keywords: {} },
  synapse: { section: {}, args: {}, allowUnsafeLocale: false, dataStores: ['main', 'state'], files: [config] },
  source: 'config',
};

const facts: ServerFacts = {
  versionNum: 180004, major: 18, version: '18.4', encoding: 'UTF8', database: 'synapse', user: 'synapse_user', owner: 'synapse_user',
  isSuperuser: false, databaseRow: {}, settings: new Map(), isSynapse: true, synapseSchemaVersion: 92,
};

const check = defineCheck({
  id: 'sequence-drift',
  title: 'Sequences are ahead of the values in their tables',
  description: 'Each sequence must be past the largest id its table holds.',
  docs: 'Compares each sequence with max(id) of the column it feeds; a sequence behind it makes inserts fail with duplicate keys.',
  async run() {
    return [];
  },
});

function finding(i: number): Finding {
  const status: Status = i % 10 === 0 ? 'error' : 'warning';
  const seq = `events_${i}_seq`;
  return {
    status,
    message: `sequence public.${seq} is at ${1000 + i}, behind max(stream_ordering) ${2000 + i} of public.events_${i}: the next insert fails with a duplicate key`,
    object: `public.${seq}`,
    details: { last_value: 1000 + i, max: 2000 + i },
    remediation: [{ kind: 'sql', title: 'Move the sequence past the largest value', text: `SELECT setval(${quoteLiteral(quoteQualified('public', seq))}, ${2000 + i});` }],
    ...(i % 100 === 0 ? { waived: { reason: 'accepted during the migration', expires: '2099-01-01' } } : {}),
  };
}

const findings = Array.from({ length: FINDINGS }, (_, i) => finding(i));
const result = summarize(check, 'master', findings, 120);
const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
summary[result.status]++;
const report: Report = { targets: [{ target, facts, results: [result], roundTrips: 3, durationMs: 150 }], summary, durationMs: 160 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => string): { ms: number; bytes: number } {
  let out = fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    out = fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), bytes: Buffer.byteLength(out) };
}

const ctx = { checks: [check], failOn: 'error' as const, baseDir: dir };
const secrets = ['not-the-real-one'];
console.log(`${FINDINGS} findings in one check, median of ${RUNS} runs (Node ${process.version})`);
console.log('format        render ms   + redact ms   output');
const rows: [string, () => string][] = [
  // Loaded before timing: the import happens once per run, not per render.
  ...(await Promise.all(FORMATS.map(async (f): Promise<[string, () => string]> => {
    const reporter = await loadReporter(f);
    return [f, () => reporter.render(report, ctx)];
  }))),
  ['github summary', () => renderStepSummary(report, ctx)],
];
for (const [name, render] of rows) {
  const r = time(render);
  const text = render();
  const format = (FORMATS as readonly string[]).includes(name) ? (name as Format) : 'github';
  const forms = await secretFormsFor(format, secrets);
  const red = time(() => redact(text, forms));
  console.log(`${name.padEnd(14)}${r.ms.toFixed(1).padStart(9)}${red.ms.toFixed(1).padStart(14)}   ${(r.bytes / 1024 / 1024).toFixed(2)} MiB`);
}
rmSync(dir, { recursive: true, force: true });
