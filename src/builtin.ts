// Node's own modules that only some runs need, loaded where they are first used rather than
// imported at the top of a module: an import is loaded at every start, and tls (3-4 ms), crypto
// (1-2 ms) and child_process (2 ms) are each paid by every check that never uses them. require,
// not import(): the single executable cannot import(), even a built-in module.
import { createRequire } from 'node:module';

interface OnUse {
  'node:child_process': typeof import('node:child_process');
  'node:crypto': typeof import('node:crypto');
  'node:sea': typeof import('node:sea');
  'node:tls': typeof import('node:tls');
}

const requireBuiltin = createRequire(import.meta.url);

/** The built-in module `name`, loaded now if it is not yet. */
export function builtin<K extends keyof OnUse>(name: K): OnUse[K] {
  return requireBuiltin(name) as OnUse[K];
}
