// The project's own import graph, read from the sources (type-only imports included: a type
// that travels in a circle ties the same modules together for a reader). Used by a test that
// fails on a circle, so the layout stays one-directional without a new dependency.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/gm;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Module → the project modules it imports, paths relative to `root`. */
export function importGraph(root: string, dirs: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap((d) => sourceFiles(join(root, d)))) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(root, resolve(dirname(file), `${m[1]}.ts`)));
    graph.set(relative(root, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every strongly connected group of two or more modules (or one importing itself): Tarjan's algorithm. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

/** `checks/<id>.ts` or `checks/<id>/...`: the check a module belongs to, else undefined. */
export function checkOf(module: string): string | undefined {
  const m = /^checks\/([^/.]+)(?:\.ts|\/)/.exec(module);
  return m && m[1] !== 'index' ? m[1] : undefined;
}

/**
 * For each module under src/, who uses it: the checks that reach it (through their own
 * modules only) and whether the core reaches it from an entry point without passing through a
 * check. A module only one check reaches, and the core does not, belongs next to that check.
 */
export function usersOf(graph: Map<string, string[]>, entryPoints: readonly string[]): Map<string, { checks: Set<string>; core: boolean }> {
  const users = new Map<string, { checks: Set<string>; core: boolean }>();
  const walk = (root: string, check: string | undefined) => {
    const seen = new Set<string>();
    const stack = [...(graph.get(root) ?? [])];
    while (stack.length > 0) {
      const m = stack.pop()!;
      if (seen.has(m) || !graph.has(m)) continue;
      seen.add(m);
      const owner = checkOf(m);
      // Another check's modules, or the check list, are not walked through: that use is theirs.
      if (owner !== undefined || m === 'checks/index.ts') {
        if (owner === check) stack.push(...(graph.get(m) ?? []));
        continue;
      }
      const entry = users.get(m) ?? { checks: new Set<string>(), core: false };
      if (check === undefined) entry.core = true;
      else entry.checks.add(check);
      users.set(m, entry);
      stack.push(...(graph.get(m) ?? []));
    }
  };
  for (const module of graph.keys()) {
    const check = checkOf(module);
    if (check !== undefined && (module === `checks/${check}.ts` || module === `checks/${check}/index.ts`)) walk(module, check);
  }
  for (const entry of entryPoints) walk(entry, undefined);
  return users;
}
