// Reading `.pg-preflight.yaml` (or --rules FILE): YAML syntax and the file's structure. Check ids
// and params are checked later, by resolveRules, once plugins have added their checks.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import yaml from 'js-yaml';
import { usageError, type PreflightError } from '../errors.js';
import type { FailOn } from '../types/status.js';
import { SEVERITIES, type CheckRule, type RulesFile, type Severity, type WaiverRule } from './types.js';
import { loadYamlWithLines, type YamlPath } from './yaml-lines.js';

export const RULES_FILE_NAME = '.pg-preflight.yaml';

const TOP_KEYS = ['fail-on', 'plugins', 'checks', 'waivers'] as const;
const CHECK_KEYS = ['severity', 'params'] as const;
const WAIVER_KEYS = ['check', 'code', 'object', 'database', 'reason', 'expires'] as const;
const FAIL_ON: readonly FailOn[] = ['error', 'warning', 'never'];

type Fail = (path: YamlPath, problem: string, code?: string) => PreflightError;

function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function keyName(path: YamlPath): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** `fail_on` for `fail-on`, `Severity` for `severity`: the key the user most likely meant. */
function suggestion(key: string, known: readonly string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[_\s]/g, '-');
  const hit = known.find((k) => norm(k) === norm(key) || norm(k) === `${norm(key)}s` || `${norm(k)}s` === norm(key));
  return hit ? `; did you mean "${hit}"?` : `; the keys here are ${known.join(', ')}`;
}

function checkKeys(value: Record<string, unknown>, known: readonly string[], path: YamlPath, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw fail([...path, key], `unknown key "${key}"${suggestion(key, known)}`, 'rules-key');
  }
}

function severityOf(raw: unknown, path: YamlPath, fail: Fail): Severity {
  // YAML 1.1 readers turn a bare `off` into false; js-yaml keeps it a string, but accept both.
  if (raw === false) return 'off';
  if (typeof raw === 'string' && (SEVERITIES as readonly string[]).includes(raw)) return raw as Severity;
  throw fail(path, `must be one of ${SEVERITIES.join(', ')}, not ${JSON.stringify(raw)}`, 'rules-value');
}

/** YAML reads an unquoted 2025-12-31 as a timestamp; a quoted one stays text. Both mean the day. */
function isoDay(raw: unknown, path: YamlPath, fail: Fail): string {
  if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw.toISOString().slice(0, 10);
  if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw.trim())) {
    const d = new Date(`${raw.trim()}T00:00:00Z`);
    if (!Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === raw.trim()) return raw.trim();
  }
  throw fail(path, `must be a date written YYYY-MM-DD, not ${JSON.stringify(raw instanceof Date ? raw.toISOString() : raw)}`, 'rules-value');
}

function nonEmptyText(raw: unknown, path: YamlPath, fail: Fail): string {
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
  if (typeof raw === 'number') return String(raw);
  throw fail(path, raw === undefined || raw === null ? 'is required' : `must be text, not ${JSON.stringify(raw)}`, raw === undefined ? 'rules-key' : 'rules-value');
}

function readChecks(value: unknown, fail: Fail, lineOf: (p: YamlPath) => number | undefined): Record<string, CheckRule> {
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) throw fail(['checks'], 'must map check ids to a severity or to { severity, params }', 'rules-value');
  const out: Record<string, CheckRule> = {};
  for (const [id, rule] of Object.entries(value)) {
    const path = ['checks', id];
    const line = lineOf(path) ?? 0;
    if (!isMapping(rule)) {
      out[id] = { severity: severityOf(rule, path, fail), params: {}, line };
      continue;
    }
    checkKeys(rule, CHECK_KEYS, path, fail);
    const params = rule.params ?? {};
    if (!isMapping(params)) throw fail([...path, 'params'], 'must map param names to values', 'rules-value');
    out[id] = {
      ...(rule.severity !== undefined ? { severity: severityOf(rule.severity, [...path, 'severity'], fail) } : {}),
      params,
      line,
    };
  }
  return out;
}

function readWaivers(value: unknown, fail: Fail, lineOf: (p: YamlPath) => number | undefined): WaiverRule[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw fail(['waivers'], 'must be a list of { check, code, object, database, reason, expires }', 'rules-value');
  return value.map((w: unknown, i): WaiverRule => {
    const path = ['waivers', i];
    if (!isMapping(w)) throw fail(path, 'must be a mapping with check, reason and expires (code, object and database are optional)', 'rules-value');
    checkKeys(w, WAIVER_KEYS, path, fail);
    const text = (key: string) => nonEmptyText(w[key], [...path, key], fail);
    if (w.reason === undefined) throw fail(path, 'needs a reason: say why the finding is accepted', 'rules-key');
    if (w.expires === undefined) throw fail(path, 'needs expires: YYYY-MM-DD, the last day the waiver applies', 'rules-key');
    return {
      check: text('check'),
      ...(w.code !== undefined ? { code: text('code') } : {}),
      ...(w.object !== undefined ? { object: text('object') } : {}),
      ...(w.database !== undefined ? { database: text('database') } : {}),
      reason: text('reason'),
      expires: isoDay(w.expires, [...path, 'expires'], fail),
      line: lineOf(path) ?? 0,
    };
  });
}

function readPlugins(value: unknown, fail: Fail, lineOf: (p: YamlPath) => number | undefined): RulesFile['plugins'] {
  if (value === null || value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw fail(['plugins'], 'must be a list of module paths or package names', 'rules-value');
  return list.map((m: unknown, i) => ({ module: nonEmptyText(m, ['plugins', i], fail), line: lineOf(typeof value === 'string' ? ['plugins'] : ['plugins', i]) ?? 0 }));
}

/** Parses rules-file text; `path` is only used to name the file in messages. */
export function parseRules(text: string, path: string, cwd: string): RulesFile {
  const display = displayPath(path, cwd);
  let located;
  try {
    located = loadYamlWithLines(text, display);
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const line = err.mark ? `:${err.mark.line + 1}` : '';
      throw usageError('rules-yaml', `${display}${line}: not valid YAML: ${err.reason}`);
    }
    throw err;
  }
  const { data, lineOf } = located;
  const fail: Fail = (p, problem, code = 'rules-value') => {
    const line = lineOf(p);
    return usageError(code, `${display}${line ? `:${line}` : ''}: ${keyName(p)}: ${problem}`);
  };
  if (data === null || data === undefined) return { path, display, plugins: [], checks: {}, waivers: [], lineOf };
  if (!isMapping(data)) {
    throw usageError('rules-value', `${display}: a rules file is a mapping with the keys ${TOP_KEYS.join(', ')}`);
  }
  for (const key of Object.keys(data)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) throw fail([key], `unknown key "${key}"${suggestion(key, TOP_KEYS)}`, 'rules-key');
  }
  let failOn: FailOn | undefined;
  if (data['fail-on'] !== undefined) {
    const v = data['fail-on'];
    if (typeof v !== 'string' || !(FAIL_ON as readonly string[]).includes(v)) {
      throw fail(['fail-on'], `must be ${FAIL_ON.join(', ')}, not ${JSON.stringify(v)}`);
    }
    failOn = v as FailOn;
  }
  return {
    path,
    display,
    ...(failOn ? { failOn } : {}),
    plugins: readPlugins(data.plugins, fail, lineOf),
    checks: readChecks(data.checks, fail, lineOf),
    waivers: readWaivers(data.waivers, fail, lineOf),
    lineOf,
  };
}

export interface LoadRulesOptions {
  /** --rules FILE; without it, `.pg-preflight.yaml` in cwd is used when it exists. */
  path?: string;
  /** The working directory: where the default file is looked for and relative paths start. */
  cwd: string;
}

/** Reads the rules file; undefined when none was given and the working directory has none. */
export function loadRules(opts: LoadRulesOptions): RulesFile | undefined {
  const path = opts.path !== undefined ? resolve(opts.cwd, opts.path) : resolve(opts.cwd, RULES_FILE_NAME);
  if (opts.path === undefined && !existsSync(path)) return undefined;
  const shown = displayPath(path, opts.cwd);
  if (!existsSync(path)) throw usageError('rules-not-found', `--rules ${opts.path}: no such file (${path})`);
  if (statSync(path).isDirectory()) throw usageError('rules-not-found', `${shown} is a directory; --rules takes a YAML file`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError('rules-unreadable', `cannot read ${shown}: ${(err as Error).message}`);
  }
  return parseRules(text, path, opts.cwd);
}
