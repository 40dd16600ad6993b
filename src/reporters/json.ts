import type { PreflightError } from '../errors.js';
import type { Report, TargetReport } from '../runner.js';
import { describeTarget, givenHosts, targetName } from '../config/target.js';
import { countedStatus } from '../rules/apply.js';
import { TOOL } from '../version.js';

export interface JsonError {
  code: string;
  message: string;
  remediation: PreflightError['remediation'];
  database?: string;
}

function errorObject(err: PreflightError, database?: string): JsonError {
  return { code: err.code, message: err.message, remediation: err.remediation, ...(database ? { database } : {}) };
}

function targetObject(t: TargetReport) {
  return {
    label: t.target.label,
    name: targetName(t.target),
    ...describeTarget(t.target),
    source: t.target.source,
    serverVersion: t.facts?.version ?? null,
    roundTrips: t.roundTrips,
    ...(t.readerRoundTrips ? { readerRoundTrips: t.readerRoundTrips } : {}),
    ...(t.besideRoundTrips ? { besideRoundTrips: t.besideRoundTrips } : {}),
    durationMs: Math.round(t.durationMs),
    ...((t.target.connection.hosts?.length ?? 1) > 1 ? hostChoiceObject(t) : {}),
    ...(t.error ? { error: errorObject(t.error) } : {}),
  };
}

/**
 * With several hosts: all of them (no passwords), the one checked and why (null when none would
 * do), and each other host tried with why it was not taken.
 */
function hostChoiceObject(t: TargetReport) {
  const failed = (t.error?.details?.hosts as TargetReport['passedOver']) ?? [];
  return {
    hosts: givenHosts(t.target),
    connectedTo: t.connectedTo ?? null,
    passedOver: t.passedOver ?? failed,
  };
}

/** The --format json document; its shape is documented in the README ("JSON output"). */
export function jsonReport(report: Report) {
  const targets = report.targets.map(targetObject);
  const failed = report.targets.find((t) => t.error);
  return {
    tool: { name: TOOL.name, version: TOOL.version },
    target: targets[0] ?? null,
    targets,
    summary: report.summary,
    results: report.targets.flatMap((t) =>
      t.results.map((r) => ({
        id: r.id,
        title: r.title,
        database: r.database,
        status: r.status,
        /** The status the exit code counts: findings a waiver accepts left out. */
        countedStatus: countedStatus(r),
        message: r.message,
        details: r.details ?? null,
        remediation: r.remediation,
        findings: r.findings,
        durationMs: Math.round(r.durationMs * 10) / 10,
      })),
    ),
    durationMs: Math.round(report.durationMs),
    rules: report.rules ?? null,
    ...(failed?.error ? { error: errorObject(failed.error, targetName(failed.target)) } : {}),
  };
}

/** The document for a run that stopped before any database was reached (bad flags, bad config). */
export function jsonErrorReport(err: PreflightError) {
  return { tool: { name: TOOL.name, version: TOOL.version }, target: null, targets: [], summary: null, results: [], error: errorObject(err) };
}
