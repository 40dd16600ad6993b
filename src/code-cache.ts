// Runs the CLI's CommonJS bundle (dist/cli-bundle.cjs) as Node would require it, but compiled
// from V8's code cache (dist/cli-bundle.cjs.cache) when one made by this Node is there. Node 20
// has no compile cache for ES modules (module.enableCompileCache is 22.1+); vm.Script takes cached
// data. With it V8 neither parses the bundle nor compiles the functions a check runs: about 40 ms
// of every start here (bench/full-check.ts). The cache is made at build time
// (scripts/build-cli.mjs) and only ever read at run time: a check writes nothing anywhere. A cache
// from another Node or V8 is rejected by V8 itself, and the bundle then compiles as it would have
// without one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

/** Where the code cache of a bundle lives: beside it, with the same trust as the code. */
export function codeCachePath(bundle: string): string {
  return `${bundle}.cache`;
}

export interface LoadedBundle {
  script: vm.Script;
  /** Whether V8 took the cache (false: none there, or made by another Node). */
  cacheUsed: boolean;
}

/**
 * Compiles and runs `bundle` with CommonJS's module scope. The wrapper text is part of what the
 * cache was made from, so the build's training run and the bin both go through this function.
 */
export function runBundle(bundle: string, cachedData?: Buffer): LoadedBundle {
  // The bundle is ASCII (esbuild escapes the rest, and the build checks it), so latin1 reads the
  // same text without UTF-8 decoding: 2 ms of 835 kB at every start.
  const source = readFileSync(bundle, 'latin1');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** The cache for `bundle` if one is there; an unreadable one is as good as none. */
export function readCodeCache(bundle: string): Buffer | undefined {
  try {
    return readFileSync(codeCachePath(bundle));
  } catch {
    return undefined;
  }
}
