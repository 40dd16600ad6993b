import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, usersOf } from './helpers/import-graph.js';

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

  it('no module under src/ serves exactly one check: such a module lives next to it, in checks/<id>/', () => {
    const entries = ['src/cli.ts', 'src/index.ts', 'src/testing/index.ts', ...[...graph.keys()].filter((m) => /^(scripts|bench)\//.test(m))];
    const users = usersOf(graph, entries);
    const privateModules = [...users].filter(([m, u]) => m.startsWith('src/') && !u.core && u.checks.size === 1).map(([m, u]) => `${m} (only ${[...u.checks][0]})`);
    expect(privateModules).toEqual([]);
    // The walk sees real use: the quoting helper serves many checks and the core.
    expect(users.get('src/quote.ts')!.core).toBe(true);
    expect(users.get('src/quote.ts')!.checks.size).toBeGreaterThan(3);
  });
});
