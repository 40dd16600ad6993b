import type { Remediation } from './types/finding.js';

/** Documented exit codes (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  findings: 1,
  usage: 2,
  connection: 3,
  /** A bug in pg-preflight itself (never a user error). */
  internal: 4,
} as const;

/**
 * A problem the user can fix (bad config, unreachable server): printed as one line plus its
 * remediation, never as a stack trace. Anything else that escapes is a bug.
 */
export class PreflightError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Stable machine-readable code, e.g. `config-sqlite`, `auth-ident`. */
    readonly code: string,
    readonly remediation: Remediation[] = [],
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'PreflightError';
  }
}

export function usageError(code: string, message: string, remediation: Remediation[] = []): PreflightError {
  return new PreflightError(message, EXIT.usage, code, remediation);
}
