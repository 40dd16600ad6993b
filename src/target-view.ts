// What a check sees of a database target: everything but the password. The connection layer
// (src/connection.ts) alone holds it; a check, or a plugin that prints its whole context, has
// nothing to leak. Helpers that checks call take this view, so they cannot need the secret either.
import type { ConnectionParams, DatabaseTarget, SynapseDatabaseConfig } from './config/target.js';

/** libpq keywords that carry a secret. passfile is a path, not a secret, and stays. */
const SECRET_KEYWORDS = new Set(['password']);

export type PublicConnection = Omit<ConnectionParams, 'password'> & {
  /** Whether a password is configured (from the URI, the config, PGPASSWORD or .pgpass). Set on the view checks get. */
  hasPassword?: boolean;
};

export interface CheckTarget extends Omit<DatabaseTarget, 'connection'> {
  connection: PublicConnection;
}

/** Whether the connection has a password, on the view (hasPassword) or on a full target. */
export function passwordConfigured(c: PublicConnection): boolean {
  return c.hasPassword ?? (c as { password?: string }).password !== undefined;
}

function withoutSecrets(map: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).filter(([k]) => !SECRET_KEYWORDS.has(k)));
}

function synapseView(s: SynapseDatabaseConfig): SynapseDatabaseConfig {
  const args = withoutSecrets(s.args);
  const section = { ...s.section };
  if (section.args && typeof section.args === 'object' && !Array.isArray(section.args)) section.args = withoutSecrets(section.args as Record<string, unknown>);
  return { ...s, section, args };
}

/** The password-free view of a target that checks get in ctx.target. */
export function checkTarget(target: DatabaseTarget): CheckTarget {
  const { password, ...connection } = target.connection;
  return {
    ...target,
    connection: { ...connection, keywords: withoutSecrets(connection.keywords) as Record<string, string>, hasPassword: password !== undefined },
    ...(target.synapse ? { synapse: synapseView(target.synapse) } : {}),
  };
}
