// Rules files: load (YAML and structure), resolve (against the checks that exist), apply (to a report).
export { loadRules, parseRules, RULES_FILE_NAME, type LoadRulesOptions } from './load.js';
export { resolveRules, mergeParams } from './resolve.js';
export { applyRules, countedStatus, waiverExpired, isoDay, RULES_RESULT_ID } from './apply.js';
export type { Rules, RulesFile, RulesSummary, Severity, WaiverRule, CheckRule } from './types.js';
