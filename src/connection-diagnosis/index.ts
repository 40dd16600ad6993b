// The precise connection diagnosers, most specific first; connection-errors.ts puts them in front
// of its generic one.
import type { Diagnoser } from './diagnoser.js';
import { diagnoseConnectionLimits } from './connection-limits.js';
import { diagnoseHbaEntry } from './hba-entry.js';
import { diagnoseIdentOrPeer } from './ident-peer.js';
import { diagnoseMissingDatabase, diagnoseMissingRole } from './missing-object.js';
import { diagnosePasswordMissing, diagnoseWrongPassword } from './password.js';
import { diagnoseRefused, diagnoseSsl, diagnoseTimeout } from './transport.js';

export const CONNECTION_DIAGNOSERS: readonly Diagnoser[] = [
  diagnoseIdentOrPeer,
  diagnoseHbaEntry,
  diagnosePasswordMissing,
  diagnoseWrongPassword,
  diagnoseMissingRole,
  diagnoseMissingDatabase,
  diagnoseConnectionLimits,
  diagnoseTimeout,
  diagnoseSsl,
  diagnoseRefused,
];
