// Turns what node-postgres or the OS reports on a failed connection into one line that says what
// is wrong and what to do, with exit code 3. The password never reaches these messages: we build
// them from the target and the error code, and PostgreSQL's own texts never contain it.
import type { DatabaseTarget } from './config/target.js';
import { PreflightError, EXIT } from './errors.js';
import { quoteIdent, quoteLiteral } from './quote.js';
import type { Remediation } from './types.js';
import { CONNECTION_DIAGNOSERS } from './connection-diagnosis/index.js';
import type { ConnectionFailure, Diagnoser, ErrorInfo, LimitsLike } from './connection-diagnosis/diagnoser.js';
import { endpointText } from './connection-diagnosis/endpoint.js';

export type { ConnectionFailure, Diagnoser, ErrorInfo } from './connection-diagnosis/diagnoser.js';

function info(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const { code, detail } = err as Error & { code?: string; detail?: string };
    return { code, message: err.message, detail };
  }
  return { message: String(err) };
}

const generic: Diagnoser = (e, target, limits) => {
  const c = target.connection;
  const at = endpointText(target);
  const text = (t: string): Remediation => ({ kind: 'text', text: t });
  switch (e.code) {
    case 'ECONNREFUSED':
      return {
        code: 'connect-refused',
        message: `nothing accepts connections at ${at}: the server is down, or listens on another address or port`,
        remediation: [text(`Check that PostgreSQL runs (systemctl status postgresql), that its port is ${c.port} (SHOW port) and that listen_addresses includes the address you connect to; then check firewalls between here and ${c.host}.`)],
      };
    case 'ENOENT':
      return {
        code: 'connect-no-socket',
        message: `there is no PostgreSQL socket at ${at}: the server is not running on this host, or uses another socket directory or port`,
        remediation: [text('Set host: in database.args to the socket directory the server uses (SHOW unix_socket_directories), or to a host name or address to connect over TCP.')],
      };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        code: 'connect-unknown-host',
        message: `the host name "${c.host}" does not resolve${e.code === 'EAI_AGAIN' ? ' (the resolver did not answer)' : ''}`,
        remediation: [text('Fix host: in database.args (or PGHOST / the --dsn host), or the DNS / /etc/hosts entry it relies on.')],
      };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return {
        code: 'connect-unreachable',
        message: `no route to ${at}`,
        remediation: [text('Check the address and the network or firewall between this host and the database.')],
      };
    case 'EACCES':
      return {
        code: 'connect-permission',
        message: `permission denied opening ${at}`,
        remediation: [text('Run as a user that may open the socket directory, or connect over TCP.')],
      };
    case '53300':
      return {
        code: 'connect-too-many',
        message: `the server at ${at} refused the connection: too many clients already (max_connections reached)`,
        remediation: [text('Close idle clients, or lower cp_max of the applications using it, or raise max_connections (ALTER SYSTEM SET max_connections = ...; then restart PostgreSQL).')],
      };
    case '57P03':
      return {
        code: 'connect-starting',
        message: `the server at ${at} is starting up, shutting down or in recovery and does not accept connections yet`,
        remediation: [text('Wait and run again, or check the server log if it stays that way.')],
      };
    case '3D000':
      return {
        code: 'connect-no-database',
        message: `the database "${c.database}" does not exist on ${at}`,
        remediation: [
          {
            kind: 'shell',
            title: 'Create it as the seed guide does (as the postgres OS user)',
            text: `createdb --encoding=UTF8 --locale=C --template=template0 --owner=${c.user} ${c.database}`,
          },
        ],
      };
    case '28000':
    case '28P01':
      return {
        code: e.code === '28P01' ? 'auth-password' : 'auth-rejected',
        message: `${at} rejected user "${c.user}" for database "${c.database}": ${e.message}`,
        remediation: [text('Check the user and password in database.args, and the pg_hba.conf rule for this database, user and address (SHOW hba_file shows where it is).')],
      };
  }
  if (/database locale is incompatible with operating system/.test(e.message)) {
    const db = c.database;
    return {
      code: 'connect-locale',
      message: `the server refuses connections to "${db}": its COLLATE or CTYPE names a locale this operating system does not have${e.detail ? ` (${e.detail.trim()})` : ''}. Synapse wants "C", which every system has`,
      remediation: [
        {
          kind: 'sql',
          title: 'As a superuser, connected to another database, with every application stopped: point the database at the C locale',
          text: `UPDATE pg_database SET datcollate = 'C', datctype = 'C' WHERE datname = ${quoteLiteral(db)};`,
        },
        { kind: 'sql', title: `Then connect to ${db} and rebuild its indexes under the new collation`, text: `REINDEX DATABASE ${quoteIdent(db)};` },
        { kind: 'text', text: 'Or install the missing locale on this host (locale-gen / localedef), then dump and recreate the database with createdb --locale=C --template=template0.' },
      ],
    };
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(e.message)) {
    return {
      code: 'connect-timeout',
      message: `no answer from ${at} within ${limits.connectTimeoutMs / 1000} s: the server accepted the connection but never completed the login (a firewall dropping packets, a wrong port, or an ident server that does not reply)`,
      remediation: [text('Check that the port belongs to PostgreSQL, that no firewall silently drops the traffic, and for "ident" rules in pg_hba.conf that an ident server answers; raise --connect-timeout only if the network is just slow.')],
    };
  }
  if (/SSL|self[- ]signed|certificate/i.test(e.message)) {
    return {
      code: 'connect-ssl',
      message: `SSL negotiation with ${at} failed: ${e.message}`,
      remediation: [text(`Match sslmode (now "${c.sslmode}") to the server: "disable" when it has no SSL, "require"/"verify-full" with sslrootcert when it demands SSL.`)],
    };
  }
  if (/terminated unexpectedly|ECONNRESET|socket hang up/i.test(`${e.code ?? ''} ${e.message}`)) {
    return {
      code: 'connect-reset',
      message: `${at} closed the connection during login; the server log says why`,
      remediation: [text('Check the PostgreSQL server log for the matching FATAL line; a proxy or pooler in between may also be refusing the connection.')],
    };
  }
  return undefined;
};

/** Most specific first (src/connection-diagnosis/); the generic one answers for the rest. */
const DIAGNOSERS: Diagnoser[] = [...CONNECTION_DIAGNOSERS, generic];

export function diagnoseConnectionError(err: unknown, target: DatabaseTarget, limits: LimitsLike): PreflightError {
  return rankedDiagnosis(err, target, limits).error;
}

/**
 * The diagnosis and how specific it is: the position of the diagnoser that answered (lower is
 * more specific), DIAGNOSERS.length when none did. Several hosts' failures are ranked by it.
 */
export function rankedDiagnosis(err: unknown, target: DatabaseTarget, limits: LimitsLike): { error: PreflightError; rank: number } {
  const e = info(err);
  for (const [rank, d] of DIAGNOSERS.entries()) {
    const found = d(e, target, limits);
    if (found) return { error: new PreflightError(found.message, EXIT.connection, found.code, found.remediation, { sqlstate: e.code }), rank };
  }
  return { error: new PreflightError(`could not connect to ${endpointText(target)}: ${e.message}`, EXIT.connection, 'connect-failed', [], { sqlstate: e.code }), rank: DIAGNOSERS.length };
}

export function isConnectionLost(err: unknown): boolean {
  const e = info(err);
  return (
    /Connection terminated|Query read timeout|Client has encountered a connection error|not queryable/i.test(e.message) ||
    ['ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'].includes(e.code ?? '')
  );
}

export function connectionLostError(err: unknown, target: DatabaseTarget): PreflightError {
  return new PreflightError(
    `lost the connection to ${endpointText(target)} during the checks: ${info(err).message}`,
    EXIT.connection,
    'connection-lost',
    [{ kind: 'text', text: 'Run again; if it keeps happening, check the server log and the network (keepalives, proxies that cut idle connections).' }],
  );
}
