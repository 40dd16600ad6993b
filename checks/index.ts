// The built-in checks, in the order they run and print. Plugins add to this list through the
// same Check type (see src/types.ts).
import type { Check } from '../src/types.js';
import serverVersion from './server-version.js';
import databaseEncoding from './database-encoding.js';
import databaseLocale from './database-locale.js';
import authHba from './auth-hba.js';
import clientKeepalives from './client-keepalives.js';
import connectionBudget from './connection-budget.js';

export const BUILTIN_CHECKS: readonly Check[] = [serverVersion, databaseEncoding, databaseLocale, authHba, clientKeepalives, connectionBudget];
