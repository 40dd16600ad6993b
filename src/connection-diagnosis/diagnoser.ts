// The shape every connection diagnoser shares, apart from the modules that run them, so that
// diagnosers and src/connection-errors.ts do not import each other.
import type { DatabaseTarget } from '../config/target.js';
import type { Remediation } from '../types/finding.js';

export interface LimitsLike {
  connectTimeoutMs: number;
}

export interface ConnectionFailure {
  code: string;
  message: string;
  remediation: Remediation[];
}

/** Each diagnoser recognises one kind of failure; the first that answers wins. */
export type Diagnoser = (err: ErrorInfo, target: DatabaseTarget, limits: LimitsLike) => ConnectionFailure | undefined;

export interface ErrorInfo {
  /** SQLSTATE for server errors, errno code (ECONNREFUSED...) for socket errors. */
  code?: string;
  message: string;
  /** PostgreSQL's DETAIL line, when the server sent one. */
  detail?: string;
}
