// SQLSTATE 53300 has four causes with four different fixes; the message tells them apart.
// PostgreSQL 10-15 say "reserved for non-replication superuser connections", 16 and later
// "reserved for roles with the SUPERUSER attribute" (or "...privileges of the
// pg_use_reserved_connections role" when reserved_connections is set).
import type { Diagnoser } from './diagnoser.js';
import { quoteIdent, quoteLiteral } from '../quote.js';
import type { Remediation } from '../types.js';
import { endpointText } from './endpoint.js';

const WHO_HOLDS_THEM: Remediation = {
  kind: 'sql',
  title: 'As a superuser (a reserved slot is kept for you): who holds the connections',
  text: [
    'SELECT usename, datname, application_name, client_addr, state, count(*)',
    "  FROM pg_stat_activity WHERE backend_type = 'client backend'",
    ' GROUP BY 1, 2, 3, 4, 5 ORDER BY count(*) DESC;',
  ].join('\n'),
};

const BUDGET_NOTE: Remediation = {
  kind: 'text',
  text: 'Each Synapse process opens up to cp_max connections (Twisted\'s default 5) per database, plus one at startup. Lower cp_max under database.args, close idle clients, or raise max_connections: ALTER SYSTEM SET max_connections = <more>; then restart PostgreSQL (that setting needs a restart). Once connected, pg-preflight\'s connection-budget check does the sum.',
};

export const diagnoseConnectionLimits: Diagnoser = (e, target) => {
  if (e.code !== '53300' && !/too many (clients|connections)|connection slots are reserved/.test(e.message)) return undefined;
  const at = endpointText(target);
  const role = /^too many connections for role "(.*)"$/.exec(e.message)?.[1];
  if (role !== undefined) {
    return {
      code: 'connect-role-limit',
      message: `${at} refused the login: role "${role}" has a CONNECTION LIMIT and already uses all of it. Synapse needs cp_max connections per process plus one at startup; raise or remove the limit`,
      remediation: [
        { kind: 'sql', title: 'As a superuser: the limit and the connections in use', text: `SELECT rolconnlimit, (SELECT count(*) FROM pg_stat_activity WHERE usename = ${quoteLiteral(role)}) AS in_use FROM pg_roles WHERE rolname = ${quoteLiteral(role)};` },
        { kind: 'sql', title: 'Remove the per-role limit (or set one above what Synapse and its workers open)', text: `ALTER ROLE ${quoteIdent(role)} CONNECTION LIMIT -1;` },
      ],
    };
  }
  const database = /^too many connections for database "(.*)"$/.exec(e.message)?.[1];
  if (database !== undefined) {
    return {
      code: 'connect-database-limit',
      message: `${at} refused the login: database "${database}" has a CONNECTION LIMIT and it is used up. Synapse needs cp_max connections per process plus one at startup; raise or remove the limit`,
      remediation: [
        { kind: 'sql', title: 'As a superuser: the limit and the connections in use', text: `SELECT datconnlimit, (SELECT count(*) FROM pg_stat_activity WHERE datname = ${quoteLiteral(database)}) AS in_use FROM pg_database WHERE datname = ${quoteLiteral(database)};` },
        { kind: 'sql', title: 'Remove the per-database limit (or set one above what Synapse and its workers open)', text: `ALTER DATABASE ${quoteIdent(database)} CONNECTION LIMIT -1;` },
      ],
    };
  }
  if (/connection slots are reserved/.test(e.message)) {
    return {
      // The same code as a server full to the last slot: both pass when others disconnect
      // (--wait retries connect-too-many); the message says which of the two it is.
      code: 'connect-too-many',
      message: `${at} refused the login: only the slots reserved for superusers are left (max_connections minus superuser_reserved_connections, and reserved_connections on PostgreSQL 16+, are all in use). The server is full for ordinary roles such as Synapse's`,
      remediation: [WHO_HOLDS_THEM, BUDGET_NOTE],
    };
  }
  return {
    code: 'connect-too-many',
    message: `${at} refused the login: "too many clients already", every one of max_connections is in use, reserved slots included`,
    remediation: [WHO_HOLDS_THEM, BUDGET_NOTE],
  };
};
