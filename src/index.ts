// Public library API: what plugins and programs import from "pg-preflight".
export { preflight, exitCodeFor, parseFailOn, type PreflightOptions, type FailOn } from './preflight.js';
export { runChecks, summarize, type Report, type TargetReport, type RunOptions } from './runner.js';
export { resolveTargets, type TargetInput } from './config/resolve.js';
export { openSession, DEFAULT_LIMITS, type Session, type SessionLimits } from './connection.js';
export { allChecks, selectChecks, findCheck } from './registry.js';
export { defineCheck } from './define-check.js';
export { jsonReport, jsonErrorReport } from './reporters/json.js';
export { textReport } from './reporters/text.js';
export { fixSequences, FIX_CHECK_IDS, type FixOptions, type FixReport, type FixTargetReport, type PlannedFix, type AppliedFix, type OtherSession } from './fix.js';
export { fixTextReport, fixJsonReport } from './fix-report.js';
export { quoteIdent, quoteLiteral, quoteQualified, shellQuote } from './quote.js';
export { PreflightError, EXIT } from './errors.js';
export { BUILTIN_CHECKS } from '../checks/index.js';
export type * from './types.js';
export type { DatabaseTarget, ConnectionParams, SynapseDatabaseConfig } from './config/target.js';
