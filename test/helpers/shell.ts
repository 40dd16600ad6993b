import { findClientTools } from '../../src/throwaway/binaries.js';

/** Debian's PostgreSQL client tools, when installed; tests that need them skip visibly otherwise. */
export const clientTools = findClientTools();

export { runPasted } from '../../src/testing/apply-printed.js';
