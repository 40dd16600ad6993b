import { describe, expect, it } from 'vitest';
import { coerceParam, parseBytes, parseDuration, parseSetFlags, resolveParams } from '../src/params.js';
import { defineCheck } from '../src/define-check.js';
import { PreflightError } from '../src/errors.js';

const check = defineCheck({
  id: 'demo-check',
  title: 't',
  description: 'd',
  docs: 'd',
  params: {
    threshold: { type: 'bytes', default: 1024, description: 'size' },
    max_age: { type: 'duration', default: 60, description: 'age' },
    strict: { type: 'boolean', default: false, description: 'switch' },
  },
  run: async (ctx) => ({ status: 'info', message: JSON.stringify(ctx.params) }),
});

describe('check params', () => {
  it('parses PostgreSQL-style sizes and durations', () => {
    expect(parseBytes('16GiB')).toBe(16 * 1024 ** 3);
    expect(parseBytes('4GB')).toBe(4 * 1024 ** 3);
    expect(parseBytes('8kB')).toBe(8192);
    expect(parseBytes('12 parsecs')).toBeUndefined();
    expect(parseDuration('5min')).toBe(300);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('2h')).toBe(7200);
  });

  it('--set values are validated against the declared params and override the defaults', () => {
    const set = parseSetFlags(['demo-check.threshold=2MB', 'demo-check.strict=yes'], [check]);
    expect(resolveParams(check, set['demo-check'])).toEqual({ threshold: 2 * 1024 ** 2, max_age: 60, strict: true });
    for (const bad of ['demo-check.nope=1', 'other.threshold=1', 'demo-check.threshold=lots', 'no-equals']) {
      expect(() => parseSetFlags([bad], [check])).toThrow(PreflightError);
    }
    expect(() => coerceParam('x', { type: 'integer', default: 1, description: '' }, '1.5')).toThrow(/whole number/);
  });
});
