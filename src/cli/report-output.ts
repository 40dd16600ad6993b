// Where the reports of one run go: the main --format to stdout (or --output FILE), and each
// --report FORMAT:FILE to its file. Everything written is redacted, files included.
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import { assertWritable, writeFileAtomic } from '../output.js';
import type { FailOn } from '../types/status.js';
import { redact } from '../redact.js';
import { FORMATS, isFormat, loadReporter, secretFormsOf, type Format, type ReportContext } from '../reporters/index.js';
import type { Report } from '../runner.js';
import type { Check } from '../types.js';
import type { Io } from './io.js';

export interface OutputPlan {
  main: { format: Format; file?: string };
  extra: { format: Format; file: string }[];
}

/** Parses --output and --report and checks every file can be written, before anything runs. */
export function planOutputs(args: { format: Format; output?: string; report?: string[] }): OutputPlan {
  const extra = (args.report ?? []).map((spec) => {
    const colon = spec.indexOf(':');
    const format = colon > 0 ? spec.slice(0, colon) : '';
    const file = colon > 0 ? spec.slice(colon + 1) : '';
    if (!isFormat(format) || !file) {
      throw usageError('usage', `--report takes FORMAT:FILE with FORMAT one of ${FORMATS.join(', ')}, not "${spec}"`);
    }
    return { format, file };
  });
  const plan: OutputPlan = { main: { format: args.format, ...(args.output ? { file: args.output } : {}) }, extra };
  const files = [...(plan.main.file ? [plan.main.file] : []), ...extra.map((e) => e.file)];
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(resolve(f))) throw usageError('usage', `${f} is named by more than one of --output and --report; give each report its own file`);
    seen.add(resolve(f));
  }
  if (plan.main.file) assertWritable(plan.main.file, '--output');
  for (const e of extra) assertWritable(e.file, `--report ${e.format}:`);
  return plan;
}

export interface WriteOptions {
  io: Io;
  /** Passwords to redact, in every form each format could escape them to. */
  secrets: string[];
  checks: readonly Check[];
  failOn: FailOn;
  color: boolean;
  quiet: boolean;
}

/**
 * Loads the reporters `plan` writes with, ahead of writeReports: the text reporter and its colour
 * support take 1-2 ms to start, which a run can spend while it waits for the server.
 */
export function preloadReporters(plan: OutputPlan): void {
  for (const o of [plan.main, ...plan.extra]) void loadReporter(o.format).catch(() => undefined);
}

export async function writeReports(report: Report, plan: OutputPlan, opts: WriteOptions): Promise<void> {
  const { io } = opts;
  const ctx: ReportContext = {
    checks: opts.checks,
    failOn: opts.failOn,
    now: new Date(),
    // In GitHub Actions, annotation paths are relative to the checkout.
    baseDir: io.env.GITHUB_WORKSPACE || process.cwd(),
    quiet: opts.quiet,
  };
  const render = async (format: Format, color: boolean) => {
    const reporter = await loadReporter(format);
    return redact(reporter.render(report, { ...ctx, color }), secretFormsOf(reporter, opts.secrets));
  };

  for (const e of plan.extra) writeFileAtomic(e.file, await render(e.format, false));
  if (plan.main.file) writeFileAtomic(plan.main.file, await render(plan.main.format, false));
  else {
    const out = await render(plan.main.format, opts.color);
    if (out.trim()) io.stdout(out);
  }

  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (summaryFile && [plan.main, ...plan.extra].some((o) => o.format === 'github')) {
    const { renderStepSummary } = await import('../reporters/github.js');
    const forms = secretFormsOf(await loadReporter('github'), opts.secrets);
    try {
      appendFileSync(summaryFile, redact(renderStepSummary(report, ctx), forms));
    } catch (err) {
      throw usageError('output-write', `cannot append the job summary to $GITHUB_STEP_SUMMARY (${summaryFile}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}
