// A rules file checked against the checks that exist: unknown ids and params are errors that name
// the line, and param values are converted exactly as --set converts them.
import { codesOf } from '../codes.js';
import { usageError } from '../errors.js';
import { coerceParam } from '../params.js';
import type { Check, ParamValues } from '../types.js';
import type { Rules, RulesFile } from './types.js';

function at(file: RulesFile, path: (string | number)[]): string {
  const line = file.lineOf(path);
  return `${file.display}${line ? `:${line}` : ''}`;
}

function unknownCheck(file: RulesFile, path: (string | number)[], key: string, id: string) {
  return usageError(
    'rules-check-unknown',
    `${at(file, path)}: ${key}: unknown check id "${id}"; "pg-preflight list" shows the ids (a plugin's checks exist only once the plugin is loaded, with plugins: or --plugin)`,
  );
}

export function resolveRules(file: RulesFile, checks: readonly Check[]): Rules {
  const byId = new Map(checks.map((c) => [c.id, c]));
  const rules: Rules = { file: file.display, off: [], severity: {}, params: {}, waivers: file.waivers };
  if (file.failOn) rules.failOn = file.failOn;
  for (const [id, rule] of Object.entries(file.checks)) {
    const check = byId.get(id);
    if (!check) throw unknownCheck(file, ['checks', id], `checks.${id}`, id);
    if (rule.severity === 'off') rules.off.push(id);
    else if (rule.severity) rules.severity[id] = rule.severity;
    const values: ParamValues = {};
    for (const [name, raw] of Object.entries(rule.params)) {
      const path = ['checks', id, 'params', name];
      const spec = check.params?.[name];
      if (!spec) {
        const known = Object.keys(check.params ?? {});
        throw usageError(
          'rules-param-unknown',
          `${at(file, path)}: checks.${id}.params.${name}: check "${id}" has no param "${name}"${known.length ? ` (it has: ${known.join(', ')})` : ' (it takes none)'}; "pg-preflight explain ${id}" lists them`,
        );
      }
      values[name] = coerceParam(`${at(file, path)}: checks.${id}.params.${name}`, spec, raw);
    }
    if (Object.keys(values).length > 0) rules.params[id] = values;
  }
  file.waivers.forEach((w, i) => {
    const check = byId.get(w.check);
    if (!check) throw unknownCheck(file, ['waivers', i, 'check'], `waivers[${i}].check`, w.check);
    const codes = Object.keys(codesOf(check));
    if (w.code !== undefined && !codes.includes(w.code)) {
      throw usageError('rules-code-unknown', `${at(file, ['waivers', i, 'code'])}: waivers[${i}].code: ${w.check} has no code "${w.code}"; its codes are ${codes.join(', ')} ("pg-preflight explain ${w.check}" lists them)`);
    }
  });
  return rules;
}

/** Params from the rules file with --set values over them, per check id. */
export function mergeParams(...layers: (Record<string, ParamValues> | undefined)[]): Record<string, ParamValues> {
  const out: Record<string, ParamValues> = {};
  for (const layer of layers) for (const [id, values] of Object.entries(layer ?? {})) out[id] = { ...out[id], ...values };
  return out;
}
