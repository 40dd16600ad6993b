// "no pg_hba.conf entry for host ..." and "pg_hba.conf rejects connection for host ...": the
// server names the address, role, database and encryption it saw, so the line can be exact.
// PostgreSQL 10-16 end the message with "SSL off"/"SSL on", 17 and later with "no encryption",
// "SSL encryption" or "GSS encryption".
import type { Diagnoser } from './diagnoser.js';
import type { Remediation } from '../types.js';
import { endpointText } from './endpoint.js';
import { formatHbaLine, type HbaType } from './hba-line.js';
import { hostCidr, isLoopback } from './ip.js';
import { hbaSteps } from './remediation.js';
import { methodFor } from './target-lines.js';

const MESSAGE = /^(no pg_hba\.conf entry|pg_hba\.conf rejects connection) for host "([^"]*)", user "(.*)", database "(.*)"(?:, (.*))?$/;

function typeFor(host: string, encryption: string | undefined): HbaType {
  if (host === '[local]') return 'local';
  if (encryption && /SSL on|SSL encryption/i.test(encryption)) return 'hostssl';
  if (encryption && /GSS/i.test(encryption)) return 'hostgssenc';
  return 'host';
}

export const diagnoseHbaEntry: Diagnoser = (e, target) => {
  const m = MESSAGE.exec(e.message);
  if (!m) return undefined;
  const [, kind, host, user, database, encryption] = m as unknown as [string, string, string, string, string, string | undefined];
  const rejected = kind.startsWith('pg_hba.conf rejects');
  const type = typeFor(host, encryption);
  const remote = type !== 'local' && !isLoopback(host);
  const method = methodFor(target, remote);
  const line = formatHbaLine({ type, databases: [database], users: [user], address: type === 'local' ? undefined : hostCidr(host), method });
  const c = target.connection;
  const notes: Remediation[] = [];
  if (method === 'trust') {
    notes.push({ kind: 'text', text: `No password is configured, so the line says trust (as the seed guide does for a local connection). With a password under database.args, write scram-sha-256 instead.` });
  } else if (c.password === undefined) {
    notes.push({ kind: 'text', text: `${host} is a network address, so the line asks for a password: set one for ${user} and add it as password: under database.args (trust there would let anyone on that network log in as ${user}).` });
  }
  if (type === 'host' && ['disable', 'allow'].includes(c.sslmode)) {
    notes.push({
      kind: 'config',
      title: `If the server admits only SSL connections (hostssl lines), connect with SSL instead: set in homeserver.yaml under database.args (now sslmode is "${c.sslmode}")`,
      text: 'database:\n  args:\n    sslmode: require',
    });
  }
  const where = rejected
    ? 'above the "reject" line that matches this connection now (the first line whose type, database, user and address match decides)'
    : 'anywhere (no line matches this connection now); above the broad "all all" lines keeps it easy to find';
  return {
    code: rejected ? 'auth-hba-reject' : 'auth-no-hba-entry',
    message: rejected
      ? `${endpointText(target)} refused the connection: a "reject" line in pg_hba.conf matches host ${host}, user "${user}", database "${database}"${encryption ? `, ${encryption}` : ''}. Add a line above it that admits this connection, and reload`
      : `${endpointText(target)} has no pg_hba.conf line for host ${host}, user "${user}", database "${database}"${encryption ? `, ${encryption}` : ''}, so it refuses the connection. Add one and reload`,
    remediation: hbaSteps([line], where, notes),
  };
};
