// "Ident authentication failed" / "Peer authentication failed": the seed guide's troubleshooting
// section, and Synapse issue #4293 (users following a guide, not knowing which line to add where).
import { userInfo } from 'node:os';
import type { Diagnoser } from './diagnoser.js';
import type { Remediation } from '../types.js';
import { endpointText } from './endpoint.js';
import { formatHbaLine, hbaName } from './hba-line.js';
import { hbaSteps } from './remediation.js';
import { targetLines } from './target-lines.js';

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'the OS user Synapse runs as';
  }
}

export const diagnoseIdentOrPeer: Diagnoser = (e, target) => {
  const m = /^(Ident|Peer) authentication failed for user "(.*)"$/.exec(e.message);
  if (!m) return undefined;
  const peer = m[1] === 'Peer';
  const c = target.connection;
  const at = endpointText(target);
  const t = targetLines(target);
  const hasPassword = c.password !== undefined;
  const loopback = t.addresses.find((a) => a.client === '127.0.0.1' || a.client === '::1')?.client;
  const stock = peer ? 'local all all peer' : loopback ? `host all all ${loopback === '::1' ? '::1/128' : '127.0.0.1/32'} ident` : undefined;
  // Debian's and Red Hat's stock files both end with `local all all peer`; Red Hat's also has
  // `host all all 127.0.0.1/32 ident` (and ::1/128), the line Synapse issue #4293 ran into.
  const stockFile = peer ? "Debian's and Red Hat's stock files" : "Red Hat's stock file";
  const where = `above the ${peer ? 'peer' : 'ident'} line that matches this connection now${stock ? ` (in ${stockFile}: "${stock}")` : ''}: the server reads pg_hba.conf from the top, and the first line whose type, database, user and address match decides`;
  const why = peer
    ? `the rule that matched this socket connection says "peer": the server asks the kernel which OS user opened the socket (here "${osUser()}"; Synapse's is often matrix-synapse) and admits it only as the database role of the same name, not "${c.user}"`
    : 'the rule that matched this TCP connection says "ident": the server asks an ident server on the client machine (port 113) which OS user opened the connection, and none answered, or it named another user than the role. A password login suits Synapse better';
  const notes: Remediation[] = t.notes.map((text) => ({ kind: 'text', text }));
  if (!hasPassword && t.method === 'trust') {
    notes.push({ kind: 'text', text: `No password is configured, so the line says trust, as the seed guide does: any local user may then log in as ${c.user} to ${c.database}. To use a password instead, set one (ALTER ROLE / \\password), add it as password: under database.args, and write scram-sha-256 in the line.` });
  } else if (!hasPassword) {
    notes.push({ kind: 'text', text: `No password is configured, and this is a network address: set one for ${c.user} (ALTER ROLE / \\password) and add it as password: under database.args; trust there would let anyone on that network log in as ${c.user}.` });
  } else {
    notes.push({ kind: 'text', text: 'If the login then fails with "password authentication failed", the role\'s password is stored as MD5 (the default before PostgreSQL 14): run pg-preflight again, it prints how to store it as SCRAM.' });
  }
  if (peer) {
    notes.push(
      {
        kind: 'text',
        text: `Alternative without a socket rule: connect over TCP with a password (host: 127.0.0.1 and password: under database.args) and admit it with "${formatHbaLine({ type: 'host', databases: [c.database], users: [c.user], address: '127.0.0.1/32', method: 'scram-sha-256' })}".`,
      },
      {
        kind: 'config',
        title: `Alternative that keeps peer: map the OS user Synapse runs as to the role. In pg_ident.conf (SHOW ident_file; finds it), with the OS user that runs Synapse in place of ${osUser()}:`,
        // pg_ident.conf is split into tokens like pg_hba.conf: the same quoting applies.
        text: `synapse    ${hbaName(osUser())}    ${hbaName(c.user)}`,
      },
      {
        kind: 'config',
        title: 'and in pg_hba.conf, above the broad peer line, then reload',
        text: formatHbaLine({ type: 'local', databases: [c.database], users: [c.user], method: 'peer', options: ['map=synapse'] }),
      },
    );
  }
  return {
    code: peer ? 'auth-peer' : 'auth-ident',
    message: `${at} refused user "${c.user}" for database "${c.database}": ${m[1]} authentication failed, because ${why}. Add ${t.lines.length > 1 ? 'these lines' : 'this line'} to pg_hba.conf above the ${peer ? 'peer' : 'ident'} line and reload`,
    remediation: hbaSteps(t.lines, where, notes),
  };
};
