// The shapes the connection layer and the host choice (multi-host.ts) share, apart from either so
// that neither imports the other.
import type pg from 'pg';

export interface SessionLimits {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface OpenedClient {
  client: pg.Client;
  serverVersionNum: number;
  /** ParameterStatus as announced at login (in_hot_standby and default_transaction_read_only from 14). */
  parameters: Map<string, string>;
}
