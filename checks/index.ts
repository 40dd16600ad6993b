// The built-in checks, in the order they run and print. Plugins add to this list through the
// same Check type (see src/types.ts).
import type { Check } from '../src/types.js';
import serverVersion from './server-version/index.js';
import serverRole from './server-role.js';
import databaseEncoding from './database-encoding.js';
import databaseLocale from './database-locale.js';
import memorySettings from './memory-settings/index.js';
import hugePages from './huge-pages.js';
import collationVersion from './collation-version.js';
import xidWraparound from './xid-wraparound.js';
import invalidIndexes from './invalid-indexes/index.js';
import replicationSlots from './replication-slots.js';
import longTransactions from './long-transactions.js';
import synapseBackgroundUpdates from './synapse-background-updates.js';
import synapseSchema from './synapse-schema.js';
import sqlitePort from './sqlite-port/index.js';
import authHba from './auth-hba/index.js';
import clientKeepalives from './client-keepalives.js';
import connectionBudget from './connection-budget.js';
import sequenceDrift from './sequence-drift.js';
import streamPositions from './stream-positions.js';

export const BUILTIN_CHECKS: readonly Check[] = [
  serverVersion,
  serverRole,
  databaseEncoding,
  databaseLocale,
  sequenceDrift,
  streamPositions,
  authHba,
  clientKeepalives,
  connectionBudget,
  memorySettings,
  hugePages,
  collationVersion,
  xidWraparound,
  invalidIndexes,
  replicationSlots,
  longTransactions,
  synapseSchema,
  synapseBackgroundUpdates,
  sqlitePort,
];
