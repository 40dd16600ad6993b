import type { FailOn } from '../types/status.js';
import type { ParamValues } from '../types.js';

/**
 * What a rules file may set for one check. `off` removes it from the run; the others set the
 * status of its warning and error findings (see applyRules).
 */
export type Severity = 'off' | 'info' | 'warning' | 'error';
export const SEVERITIES: readonly Severity[] = ['off', 'info', 'warning', 'error'];

/** A known finding accepted until a date. */
export interface WaiverRule {
  check: string;
  /** Matches Finding.code (one of the check's codes); absent: any code. */
  code?: string;
  /** Matches Finding.object exactly; absent: every finding of the check. */
  object?: string;
  /** Matches the target's name in a run of many (`hs/a.yaml:master`) or its label (`master`, or a `databases:` key); absent: every database. */
  database?: string;
  reason: string;
  /** YYYY-MM-DD: the waiver applies through that day (UTC) and stops applying the day after. */
  expires: string;
  /** Line of the waiver in the rules file. */
  line: number;
}

export interface CheckRule {
  severity?: Severity;
  /** Raw values as written (YAML scalars); checked and converted against the check by resolveRules. */
  params: Record<string, unknown>;
  line: number;
}

/** A rules file as read from disk: its structure validated, check ids and params not yet. */
export interface RulesFile {
  /** Absolute path. */
  path: string;
  /** How messages name the file: relative to the working directory when inside it. */
  display: string;
  failOn?: FailOn;
  /** Plugin modules as written; paths are relative to the rules file's directory. */
  plugins: { module: string; line: number }[];
  checks: Record<string, CheckRule>;
  waivers: WaiverRule[];
  /** Line of a key path, for errors found later (unknown check id, bad param). */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** A rules file checked against the checks that exist (built-in and plugins). */
export interface Rules {
  /** As RulesFile.display; undefined for rules built in code. */
  file?: string;
  failOn?: FailOn;
  /** Check ids turned off. */
  off: string[];
  /** Severity per check id (info, warning or error). */
  severity: Record<string, Exclude<Severity, 'off'>>;
  /** Converted params per check id; --set values go over these. */
  params: Record<string, ParamValues>;
  waivers: WaiverRule[];
}

/** What a report says about the rules applied to it (JSON `rules`, the text report's last line). */
export interface RulesSummary {
  file?: string;
  off: string[];
  severity: Record<string, Exclude<Severity, 'off'>>;
  waivers: (Omit<WaiverRule, 'line'> & { line: number; expired: boolean; matched: number })[];
}
