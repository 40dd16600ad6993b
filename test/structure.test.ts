import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from '../src/structure/import-graph.js';

const ROOT = join(import.meta.dirname, '..');

describe('module structure', () => {
  const graph = importGraph(ROOT, ['src', 'checks', 'scripts', 'bench']);

  it('reads the real graph (so an empty answer below means something)', () => {
    expect(graph.get('src/runner.ts')).toContain('src/connection.ts');
    expect(importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts']]);
  });

  it('has no import circle, type-only imports included', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});
