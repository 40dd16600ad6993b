import type { FailOn } from '../types/status.js';
import type { Check } from '../types.js';

/** What a reporter may know beyond the report itself; every field has a safe default. */
export interface ReportContext {
  /** The checks that ran, for rule metadata (SARIF rules, help text). */
  checks?: readonly Check[];
  /** --fail-on: what JUnit counts as a failure. Default `error`. */
  failOn?: FailOn;
  /** Paths in annotations are relative to this (the repository root in CI). Default: the working directory. */
  baseDir?: string;
  /** When the run finished, for timestamps. Default: now. */
  now?: Date;
  /** Text only. */
  color?: boolean;
  quiet?: boolean;
}
