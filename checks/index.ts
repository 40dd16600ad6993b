// The built-in checks, in the order they run and print. Plugins add to this list through the
// same Check type (see src/types.ts).
import type { Check } from '../src/types.js';
import serverVersion from './server-version.js';
import databaseEncoding from './database-encoding.js';
import databaseLocale from './database-locale.js';
import sequenceDrift from './sequence-drift.js';
import streamPositions from './stream-positions.js';

export const BUILTIN_CHECKS: readonly Check[] = [serverVersion, databaseEncoding, databaseLocale, sequenceDrift, streamPositions];
