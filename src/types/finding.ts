import type { Status } from './status.js';

export type RemediationKind = 'sql' | 'shell' | 'config' | 'text';

export interface Remediation {
  kind: RemediationKind;
  /** Exactly what the user pastes (SQL, shell, YAML) or reads (text). */
  text: string;
  /** One line saying what this step does or when to use it. */
  title?: string;
}

export interface Finding {
  status: Status;
  message: string;
  /** The database object the finding is about, e.g. `public.events_stream_seq`. */
  object?: string;
  details?: Record<string, unknown>;
  remediation?: Remediation[];
  /** Set when a rules-file waiver accepts this finding: shown, but not counted for the exit code. */
  waived?: Waiver;
}

export interface Waiver {
  reason: string;
  /** ISO date (YYYY-MM-DD) after which the waiver stops applying. */
  expires?: string;
}
