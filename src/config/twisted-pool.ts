// How Twisted's adbapi.ConnectionPool sizes Synapse's pool from cp_min/cp_max
// (twisted/enterprise/adbapi.py, twisted/python/threadpool.py), step by step in Python's terms,
// so that a value Synapse would crash on is refused with the error Synapse would print.
import { pyCompare, pyNumber, PyTypeError } from './python.js';
import { PyFloat } from './yaml11.js';

/** Twisted's class defaults, used when the key is absent (a present `null` is None, not absent). */
export const TWISTED_DEFAULT_MIN = 3;
export const TWISTED_DEFAULT_MAX = 5;

export type PoolSizing =
  | { ok: true; min: number; max: number }
  | { ok: false; key: 'cp_min' | 'cp_max'; error: string };

/**
 * ConnectionPool.__init__ does `min = min(min, max); max = max(min, max)` (so cp_min above
 * cp_max quietly becomes cp_max), then ThreadPool asserts `min >= 0` and `min <= max`, and
 * start() calls range(min - workers).
 */
export function twistedPoolSize(args: Record<string, unknown>): PoolSizing {
  const hasMin = Object.hasOwn(args, 'cp_min');
  const hasMax = Object.hasOwn(args, 'cp_max');
  const cpMin = hasMin ? args.cp_min : TWISTED_DEFAULT_MIN;
  const cpMax = hasMax ? args.cp_max : TWISTED_DEFAULT_MAX;
  let lo: unknown;
  let hi: unknown;
  try {
    // Python's min(a, b) keeps a unless b < a; max(a, b) keeps a unless b > a.
    lo = pyCompare('<', cpMax, cpMin) ? cpMax : cpMin;
    hi = pyCompare('>', cpMax, lo) ? cpMax : lo;
    if (!pyCompare('>=', lo, 0)) return { ok: false, key: hasMin && pyCompare('<', cpMin, 0) ? 'cp_min' : 'cp_max', error: 'AssertionError: minimum is negative' };
  } catch (e) {
    if (e instanceof PyTypeError) return { ok: false, key: pyNumber(cpMin) === undefined ? 'cp_min' : 'cp_max', error: `TypeError: ${e.message}` };
    throw e;
  }
  // Both are numbers from here on: ThreadPool's `min <= max` cannot fail after the clamp.
  if (lo instanceof PyFloat) {
    // start() grows the pool with range(min - 0), which refuses a float.
    return { ok: false, key: lo === cpMin ? 'cp_min' : 'cp_max', error: "TypeError: 'float' object cannot be interpreted as an integer" };
  }
  return { ok: true, min: pyNumber(lo)!, max: pyNumber(hi)! };
}
