import type { Check } from './types.js';

/** Identity function that gives a plugin's check object the Check type (and editor help). */
export function defineCheck<C extends Check>(check: C): C {
  return check;
}
