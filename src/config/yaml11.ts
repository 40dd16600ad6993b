// homeserver.yaml as Synapse reads it: PyYAML's `safe_load`, which is YAML 1.1. js-yaml alone
// reads YAML 1.2, where `yes`, `on`, `0755`, `1:30` and `2024-01-01` mean something else. The
// regular expressions below are PyYAML's implicit resolvers (lib/yaml/resolver.py) and the
// constructors follow lib/yaml/constructor.py, so a value here is the Python value Synapse gets.
import yaml from 'js-yaml';

/**
 * A Python float. Kept apart from a JS number because Python tells `5.0` from `5`: Twisted's
 * range() refuses the one, libpq gets the text "5.0" for the other.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  // js-yaml turns a mapping key into a string with String() only when the tag is not "Object".
  get [Symbol.toStringTag](): string {
    return 'PyFloat';
  }
  valueOf(): number {
    return this.value;
  }
  /** Python's repr(), which str() of a float is. */
  toString(): string {
    return pyFloatRepr(this.value);
  }
}

/** A YAML 1.1 timestamp: Python's datetime.date (no time) or datetime.datetime. */
export class PyTimestamp {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly time?: { hour: number; minute: number; second: number; microsecond: number; offsetMinutes?: number },
  ) {}
  get [Symbol.toStringTag](): string {
    return 'PyTimestamp';
  }
  get isDate(): boolean {
    return this.time === undefined;
  }
  /** Python's str(): `2001-12-14` or `2001-12-14 21:59:43.100000+00:00`. */
  toString(): string {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const date = `${p(this.year, 4)}-${p(this.month)}-${p(this.day)}`;
    const t = this.time;
    if (!t) return date;
    let s = `${date} ${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
    if (t.microsecond) s += `.${p(t.microsecond, 6)}`;
    if (t.offsetMinutes !== undefined) {
      const m = Math.abs(t.offsetMinutes);
      s += `${t.offsetMinutes < 0 ? '-' : '+'}${p(Math.floor(m / 60))}:${p(m % 60)}`;
    }
    return s;
  }
}

/** Python's repr() of a float: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = x < 0 ? '-' : '';
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    return `${sign}${intPart}.${digits.slice(exp + 1) || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

// PyYAML's resolver patterns, verbatim but for re.X whitespace.
const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP = /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;
const TIMESTAMP_PARTS = /^([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)(?:(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?)?$/;

/** What PyYAML raises where it gives up on a value (Python's own ValueError text). */
function fail(message: string): never {
  throw new yaml.YAMLException(message);
}

function pyInt(text: string, base: number): bigint {
  const ok = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16]!;
  if (!ok.test(text)) fail(`invalid literal for int() with base ${base}: '${text}'`);
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[base as 2 | 8 | 10 | 16];
  return BigInt(prefix + text);
}

/** An int stays a JS number while that is exact; beyond 2^53 it is a bigint, as Python keeps every digit. */
function intValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** PyYAML's construct_yaml_int; what Python's int() refuses (`!!int 1.5`) is an error. */
function constructInt(data: string): number | bigint {
  let value = data.replace(/_/g, '');
  if (value === '') fail('string index out of range');
  const sign = value[0] === '-' ? -1n : 1n;
  if (value[0] === '-' || value[0] === '+') value = value.slice(1);
  if (value === '0') return 0;
  if (value.startsWith('0b')) return intValue(sign * pyInt(value.slice(2), 2));
  if (value.startsWith('0x')) return intValue(sign * pyInt(value.slice(2), 16));
  if (value[0] === '0') return intValue(sign * pyInt(value, 8));
  if (value.includes(':')) {
    let total = 0n;
    let base = 1n;
    for (const part of value.split(':').reverse()) {
      total += pyInt(part, 10) * base;
      base *= 60n;
    }
    return intValue(sign * total);
  }
  return intValue(sign * pyInt(value, 10));
}

function constructTimestamp(data: string): PyTimestamp {
  const m = TIMESTAMP_PARTS.exec(data)!;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // datetime.date() validates; PyYAML lets its ValueError through.
  if (year < 1) fail(`year ${year} is out of range`);
  if (month < 1 || month > 12) fail('month must be in 1..12');
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day < 1 || day > (month === 2 ? (leap ? 29 : 28) : days)) fail(`day ${day} must be in range 1..${month === 2 ? (leap ? 29 : 28) : days} for month ${month} in year ${year}`);
  if (m[4] === undefined) return new PyTimestamp(year, month, day);
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (hour > 23) fail('hour must be in 0..23');
  if (minute > 59) fail('minute must be in 0..59');
  if (second > 59) fail('second must be in 0..59');
  const microsecond = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  let offsetMinutes: number | undefined;
  if (m[9]) {
    offsetMinutes = (Number(m[10]) * 60 + Number(m[11] ?? 0)) * (m[9] === '-' ? -1 : 1);
    if (Math.abs(offsetMinutes) >= 24 * 60) fail('offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)');
  } else if (m[8]) {
    offsetMinutes = 0;
  }
  return new PyTimestamp(year, month, day, { hour, minute, second, microsecond, offsetMinutes });
}

/** Python's float() of a string (after PyYAML has taken out underscores and lowered it). */
function pyFloatOf(text: string, original: string): number {
  const t = text.trim();
  if (/^[+-]?inf(?:inity)?$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/.test(t)) fail(`could not convert string to float: '${original}'`);
  return Number(t);
}

/**
 * PyYAML's construct_yaml_float. An implicit float always passes; an explicitly tagged one
 * (`!!float 1`) may hold anything, and what Python's float() refuses is an error there as here.
 */
function constructFloat(data: string): PyFloat {
  let value = data.replace(/_/g, '').toLowerCase();
  if (value === '') fail('string index out of range');
  const sign = value[0] === '-' ? -1 : 1;
  if (value[0] === '-' || value[0] === '+') value = value.slice(1);
  if (value === '.inf') return new PyFloat(sign * Infinity);
  if (value === '.nan') return new PyFloat(NaN);
  if (value.includes(':')) {
    let total = 0;
    let base = 1;
    for (const part of value.split(':').reverse()) {
      total += pyFloatOf(part, part) * base;
      base *= 60;
    }
    return new PyFloat(sign * total);
  }
  return new PyFloat(sign * pyFloatOf(value, data));
}

const BOOL_VALUES: Record<string, boolean> = { yes: true, no: false, true: true, false: false, on: true, off: false };

/** PyYAML's construct_yaml_bool: one of its six words, in any case. */
function constructBool(data: string): boolean {
  const value = BOOL_VALUES[data.toLowerCase()];
  if (value === undefined) fail(`KeyError: '${data.toLowerCase()}'`);
  return value;
}

// An explicitly tagged scalar is constructed as PyYAML constructs it, without the implicit
// pattern of its type: `!!float 1` is 1.0, `!!bool yEs` is True, `!!null x` is None.
const tagged = (tag: string, construct: (data: string) => unknown) =>
  new yaml.Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: () => true, construct: (data: string | null) => construct(data ?? '') });

const scalar = (tag: string, pattern: RegExp, construct: (data: string) => unknown) =>
  new yaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (data: string | null) => pattern.test(data ?? ''),
    construct: (data: string | null) => construct(data ?? ''),
  });

// js-yaml exports its built-in types at run time; its type declarations leave them out.
const builtin = (yaml as unknown as { types: Record<'merge' | 'binary' | 'omap' | 'pairs' | 'set', yaml.Type> }).types;

/** PyYAML's SafeLoader: its implicit types in its resolver's order, and its explicit ones. */
export const PYYAML_SAFE_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar('bool', BOOL, constructBool),
    scalar('float', FLOAT, constructFloat),
    scalar('int', INT, constructInt),
    // After null: js-yaml's merge type also claims an empty scalar, which PyYAML reads as None.
    scalar('null', NULL, () => null),
    builtin.merge,
    scalar('timestamp', TIMESTAMP, constructTimestamp),
    // A plain `=` resolves to the YAML 1.1 "value" tag, which SafeLoader cannot construct.
    scalar('value', /^=$/, () => fail("could not determine a constructor for the tag 'tag:yaml.org,2002:value'")),
  ],
  // After the implicit types of the same tags, so that a tag finds these (js-yaml's type map keeps the last).
  explicit: [tagged('bool', constructBool), tagged('float', constructFloat), tagged('int', constructInt), tagged('null', () => null), builtin.binary, builtin.omap, builtin.pairs, builtin.set],
});

/**
 * Parses one YAML document as PyYAML's safe_load would. Like PyYAML, a repeated mapping key
 * is no error: the last one wins (js-yaml's `json` mode does exactly that and nothing else).
 */
export function loadYaml11(text: string, filename?: string): unknown {
  return yaml.load(text, { schema: PYYAML_SAFE_SCHEMA, filename, json: true });
}
