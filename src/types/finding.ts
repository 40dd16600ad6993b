import type { Status } from './status.js';
import type { Fix } from '../fix-types.js';

export type RemediationKind = 'sql' | 'shell' | 'config' | 'text';

export interface Remediation {
  kind: RemediationKind;
  /** Exactly what the user pastes (SQL, shell, YAML) or reads (text). */
  text: string;
  /** One line saying what this step does or when to use it. */
  title?: string;
}

/**
 * What one code of a check means: every finding carries a code its check declares, so that
 * reports, waivers, SARIF fingerprints and docs name a finding by identity, not by its prose.
 */
export interface CodeSpec {
  /** The status a finding of this code usually has (a check may raise or lower it by degree). */
  status: Status;
  /** Other statuses the check gives it by degree (e.g. `info` below a threshold, `error` above). */
  otherStatuses?: Status[];
  /** One line: what a finding of this code says. */
  summary: string;
  /** The kinds of remediation steps such a finding may print. */
  remediation?: RemediationKind[];
  /** `pg-preflight fix` can apply it. */
  fixable?: boolean;
}

export interface Finding {
  /** Stable kebab-case code, one of the check's `codes` (e.g. `not-utf8`). Built-in checks always set it. */
  code?: string;
  status: Status;
  message: string;
  /** The database object the finding is about, e.g. `public.events_stream_seq`. */
  object?: string;
  details?: Record<string, unknown>;
  remediation?: Remediation[];
  /** What `pg-preflight fix` can apply for this finding (src/fix-types.ts). */
  fix?: Fix;
  /** Set when a rules-file waiver accepts this finding: shown, but not counted for the exit code. */
  waived?: Waiver;
}

/** A finding in a result: the runner has given it its code (a plugin's without one gets DEFAULT_CODE). */
export type ReportedFinding = Finding & { code: string };

export interface Waiver {
  reason: string;
  /** ISO date (YYYY-MM-DD) after which the waiver stops applying. */
  expires?: string;
}
