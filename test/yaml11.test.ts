import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadYaml11, PyFloat, PyTimestamp, pyFloatRepr } from '../src/config/yaml11.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'config');
// The corpus: every scalar form Synapse configs hold (yaml11/), and every other config fixture.
const corpus = [
  ...readdirSync(join(dir, 'yaml11')).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, 'yaml11', f)),
  ...readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)),
].sort();

// Debian's python3-yaml is what Synapse's packages use; any other python3 with PyYAML will do.
const PYTHON3 = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0);
const hasPyYaml = PYTHON3 !== undefined;

// Each value with its Python type, so that 1 and 1.0 and True are three different things, as
// they are to Synapse. Map keys as json.dumps writes them; maps compared sorted by key.
const PYTHON = String.raw`
import base64, datetime, json, sys, yaml

def key(k):
    if isinstance(k, bool): return "true" if k else "false"
    if k is None: return "null"
    if isinstance(k, float): return repr(k)
    return str(k)

def typed(v):
    if v is None: return ["none"]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", repr(v)]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, datetime.datetime): return ["datetime", str(v)]
    if isinstance(v, datetime.date): return ["date", str(v)]
    if isinstance(v, bytes): return ["bytes", base64.b64encode(v).decode()]
    if isinstance(v, list): return ["list", [typed(x) for x in v]]
    if isinstance(v, dict): return ["map", sorted([[key(k), typed(x)] for k, x in v.items()], key=lambda p: p[0])]
    return ["other", repr(v)]

out = {}
for f in sys.argv[1:]:
    try:
        with open(f) as fh:
            out[f] = ["ok", typed(yaml.safe_load(fh))]
    except Exception as e:
        out[f] = ["error", type(e).__name__]
print(json.dumps(out))
`;

function typed(v: unknown): unknown {
  if (v === null || v === undefined) return ['none'];
  if (typeof v === 'boolean') return ['bool', v];
  if (typeof v === 'number' || typeof v === 'bigint') return ['int', String(v)];
  if (typeof v === 'string') return ['str', v];
  if (v instanceof PyFloat) return ['float', v.toString()];
  if (v instanceof PyTimestamp) return [v.isDate ? 'date' : 'datetime', v.toString()];
  if (v instanceof Uint8Array) return ['bytes', Buffer.from(v).toString('base64')];
  if (Array.isArray(v)) return ['list', v.map(typed)];
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, typed(x)] as [string, unknown]);
  return ['map', entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))];
}

function ours(file: string): unknown {
  try {
    return ['ok', typed(loadYaml11(readFileSync(file, 'utf8'), file))];
  } catch {
    return ['error'];
  }
}

describe('homeserver.yaml read as PyYAML reads it', () => {
  it.skipIf(!hasPyYaml)(`every config fixture parses to the same Python values as PyYAML's safe_load (${corpus.length} files)${hasPyYaml ? '' : ' (skipped: python3 with the yaml module is not installed; Debian: python3-yaml)'}`, () => {
    const run = spawnSync(PYTHON3!, ['-c', PYTHON, ...corpus], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const theirs = JSON.parse(run.stdout) as Record<string, unknown[]>;
    for (const file of corpus) {
      const mine = ours(file) as unknown[];
      const py = theirs[file]!;
      // Both refuse the same files; the exception names differ between the two languages.
      expect({ file, result: mine[0] === 'error' ? ['error'] : mine }).toEqual({ file, result: py[0] === 'error' ? ['error'] : py });
    }
    // The corpus is not vacuous: it holds refused files and every scalar type.
    const text = JSON.stringify(theirs);
    for (const kind of ['"error"', '"bool"', '"int"', '"float"', '"none"', '"date"', '"datetime"', '"str"']) expect(text).toContain(kind);
  });

  it('reads the YAML 1.1 forms js-yaml would read as YAML 1.2', () => {
    const doc = loadYaml11('a: yes\nb: Off\nc: 0755\nd: 1:30\ne: 0x1F\nf: 0b101\ng: 1_000\nh: 1.0\ni: .inf\nj: 2001-12-14\nk: 1e3\nl: 0o17\nm: ~\nn: y\n') as Record<string, unknown>;
    expect(doc).toMatchObject({ a: true, b: false, c: 493, d: 90, e: 31, f: 5, g: 1000, k: '1e3', l: '0o17', m: null, n: 'y' });
    expect(doc.h).toBeInstanceOf(PyFloat);
    expect(String(doc.h)).toBe('1.0');
    expect(String(doc.i)).toBe('inf');
    expect(String(doc.j)).toBe('2001-12-14');
    expect(loadYaml11('big: 99999999999999999999')).toEqual({ big: 99999999999999999999n });
  });

  it('writes floats as Python repr() does', () => {
    expect([1, 0.1, 1e16, 1.5e16, 1e15, 0.0001, 0.00001, -2.5, 1e-7, 685230.15, -0].map(pyFloatRepr)).toEqual([
      '1.0', '0.1', '1e+16', '1.5e+16', '1000000000000000.0', '0.0001', '1e-05', '-2.5', '1e-07', '685230.15', '-0.0',
    ]);
  });

  it('refuses what PyYAML refuses: the value tag, an impossible date', () => {
    expect(() => loadYaml11('a: =')).toThrow(/could not determine a constructor/);
    expect(() => loadYaml11('a: 2001-02-30')).toThrow(/day 30 must be in range/);
  });
});
