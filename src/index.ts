// Public library API: what plugins and programs import from "pg-preflight".
export { preflight, preparePreflight, runPrepared, exitCodeFor, parseFailOn, type PreflightOptions, type PreparedRun, type FailOn } from './preflight.js';
export { runChecks, summarize, type Report, type TargetReport, type RunOptions, type RunProgress } from './runner.js';
export { resolveTargets, type TargetInput } from './config/resolve.js';
export { resolveFleet, connectionName, type FleetInput } from './config/fleet.js';
export { resolveRunTargets, type RunTargetInput } from './run-targets.js';
export { listConnectableDatabases } from './all-databases.js';
export { DEFAULT_JOBS } from './pool.js';
export { openSession, DEFAULT_LIMITS, type Session, type SessionLimits } from './connection.js';
export { allChecks, selectChecks, findCheck } from './registry.js';
export { defineCheck } from './define-check.js';
export { loadPlugins, checkShapeProblem, type PluginSpec } from './plugins.js';
export {
  loadRules,
  parseRules,
  resolveRules,
  applyRules,
  countedStatus,
  RULES_FILE_NAME,
  RULES_RESULT_ID,
  type LoadRulesOptions,
  type Rules,
  type RulesFile,
  type RulesSummary,
  type Severity,
  type WaiverRule,
} from './rules/index.js';
export { openSessionWaiting, RETRYABLE_CONNECTION_CODES, type WaitOptions } from './wait.js';
export { parseSetFlags, coerceParam } from './params.js';
export { jsonReport, jsonErrorReport } from './reporters/json.js';
export { textReport } from './reporters/text.js';
export { fixSequences, fixingChecks, type FixOptions, type FixReport, type FixTargetReport, type PlannedFix, type AppliedFix, type OtherSession } from './fix.js';
export { fixTextReport, fixJsonReport } from './fix-report.js';
export type { Fix, FixKind, SequenceAdvanceFix } from './fix-types.js';
export { quoteIdent, quoteLiteral, quoteQualified, shellQuote } from './quote.js';
export { notOwnSession } from './own-sessions.js';
export { PreflightError, EXIT } from './errors.js';
export { BUILTIN_CHECKS } from '../checks/index.js';
export type * from './types.js';
export { targetName, type DatabaseTarget, type ConnectionParams, type SynapseDatabaseConfig } from './config/target.js';
export { DEFAULT_CODE } from './codes.js';
export type { CheckTarget, PublicConnection } from './target-view.js';
