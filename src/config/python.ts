// What Python makes of the values PyYAML read: str() as psycopg2 passes them to libpq,
// truthiness as Synapse tests its flags, and comparisons as Twisted sizes its pool.
import { PyFloat, PyTimestamp } from './yaml11.js';

export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyFloat) return 'float';
  if (v instanceof PyTimestamp) return v.isDate ? 'datetime.date' : 'datetime.datetime';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.codePointAt(0)! < 0x20 || ch.codePointAt(0) === 0x7f) out += `\\x${ch.codePointAt(0)!.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}

/** Python's repr(), as str() of a list or dict shows its items. */
export function pyRepr(v: unknown): string {
  if (typeof v === 'string') return reprString(v);
  if (v instanceof PyTimestamp) {
    const t = v.time;
    if (!t) return `datetime.date(${v.year}, ${v.month}, ${v.day})`;
    const parts = [v.year, v.month, v.day, t.hour, t.minute, ...(t.second || t.microsecond ? [t.second] : []), ...(t.microsecond ? [t.microsecond] : [])];
    const tz = t.offsetMinutes === undefined ? '' : t.offsetMinutes === 0 ? ', tzinfo=datetime.timezone.utc' : `, tzinfo=datetime.timezone(datetime.timedelta(${t.offsetMinutes < 0 ? 'days=-1, seconds=' + (86400 + t.offsetMinutes * 60) : 'seconds=' + t.offsetMinutes * 60}))`;
    return `datetime.datetime(${parts.join(', ')}${tz})`;
  }
  if (v instanceof Uint8Array) {
    return `b'${[...v].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')}'`;
  }
  return pyStr(v);
}

/** Python's str(): what psycopg2 writes into the connection string for a keyword's value. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof PyFloat || v instanceof PyTimestamp) return v.toString();
  if (v instanceof Uint8Array) return pyRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

/** Python's truthiness: `if value:`. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof PyTimestamp) return true;
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length > 0;
  return Object.keys(v as object).length > 0;
}

/** The number behind a Python int, float or bool (bool is an int subclass), else undefined. */
export function pyNumber(v: unknown): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

export class PyTypeError extends Error {}

/** Python's `a OP b` for the comparisons Twisted's pool makes; raises what Python raises. */
export function pyCompare(op: '<' | '>' | '>=' | '<=', a: unknown, b: unknown): boolean {
  const x = pyNumber(a);
  const y = pyNumber(b);
  let c: number;
  if (x !== undefined && y !== undefined) {
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    c = x < y ? -1 : x > y ? 1 : 0;
  } else if (typeof a === 'string' && typeof b === 'string') {
    c = a < b ? -1 : a > b ? 1 : 0;
  } else {
    throw new PyTypeError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
  }
  return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '>=' ? c >= 0 : c <= 0;
}
