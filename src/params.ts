// Check params: declared by each check with a type and a default, set by the user as text.
import { usageError } from './errors.js';
import type { Check, ParamSpec, ParamValues } from './types.js';

const BYTE_UNITS: Record<string, number> = {
  b: 1, '': 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3, tb: 1024 ** 4, tib: 1024 ** 4,
};
const SECOND_UNITS: Record<string, number> = { ms: 0.001, s: 1, '': 1, sec: 1, min: 60, m: 60, h: 3600, d: 86400 };

export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : undefined;
}

export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? SECOND_UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit !== undefined ? Number(m[1]) * unit : undefined;
}

/** Converts a user's value (text from the command line, or a YAML scalar) to the param's type. */
export function coerceParam(where: string, spec: ParamSpec, raw: unknown): number | string | boolean | null {
  if (raw === null) return null;
  const text = String(raw);
  const fail = (what: string) => usageError('param-value', `${where} must be ${what}, not ${JSON.stringify(raw)}`);
  switch (spec.type) {
    case 'string':
      return text;
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (/^(true|yes|on|1)$/i.test(text)) return true;
      if (/^(false|no|off|0)$/i.test(text)) return false;
      throw fail('true or false');
    case 'number':
    case 'integer': {
      const n = typeof raw === 'number' ? raw : Number(text);
      if (!Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n))) throw fail(spec.type === 'integer' ? 'a whole number' : 'a number');
      return n;
    }
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : parseBytes(text);
      if (n === undefined) throw fail('a size such as 16GiB, 512MB or 8kB');
      return n;
    }
    case 'duration': {
      const n = typeof raw === 'number' ? raw : parseDuration(text);
      if (n === undefined) throw fail('a duration such as 500ms, 30s, 5min or 2h');
      return n;
    }
  }
}

/** Parses repeated `--set check-id.name=value` into values per check, validated against the checks. */
export function parseSetFlags(values: readonly string[], checks: readonly Check[]): Record<string, ParamValues> {
  const out: Record<string, ParamValues> = {};
  for (const item of values) {
    const m = /^([a-z0-9-]+)\.([A-Za-z0-9_-]+)=(.*)$/s.exec(item);
    if (!m) throw usageError('usage', `--set takes check-id.param=value, not "${item}"`);
    const [, id, name, value] = m as unknown as [string, string, string, string];
    const check = checks.find((c) => c.id === id);
    if (!check) throw usageError('check-unknown', `--set names unknown check "${id}"; "pg-preflight list" shows the ids`);
    const spec = check.params?.[name];
    if (!spec) {
      const known = Object.keys(check.params ?? {});
      throw usageError('param-unknown', `check "${id}" has no param "${name}"${known.length ? ` (it has: ${known.join(', ')})` : ' (it takes none)'}`);
    }
    (out[id] ??= {})[name] = coerceParam(`--set ${id}.${name}`, spec, value);
  }
  return out;
}

/** A check's params: its declared defaults, overridden by what the user set. */
export function resolveParams(check: Check, set: ParamValues | undefined): ParamValues {
  const values: ParamValues = {};
  for (const [name, spec] of Object.entries(check.params ?? {})) values[name] = spec.default;
  return { ...values, ...set };
}
