// The core types, one module per kind (src/types/*), gathered here for the public API and for
// code that needs several. Modules inside src/types import each other, never this file.
export * from './types/status.js';
export type * from './types/finding.js';
export type * from './types/facts.js';
export type * from './types/check.js';
