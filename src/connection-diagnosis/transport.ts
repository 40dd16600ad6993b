// Failures before or around the login itself: nothing listening, a peer that never answers, and
// SSL that one side insists on and the other cannot do.
import type { Diagnoser } from './diagnoser.js';
import type { Remediation } from '../types.js';
import { endpointText, hostKind, isSocketHost } from './endpoint.js';
import { FIND_HBA_FILE, RELOAD } from './remediation.js';
import { targetLines } from './target-lines.js';

const text = (t: string): Remediation => ({ kind: 'text', text: t });

export const diagnoseRefused: Diagnoser = (e, target) => {
  if (e.code !== 'ECONNREFUSED' || isSocketHost(target.connection.host)) return undefined;
  const c = target.connection;
  const remote = hostKind(c.host) === 'remote';
  return {
    code: 'connect-refused',
    message: `nothing accepts connections at ${endpointText(target)}: PostgreSQL is not running there, listens on another port, or${remote ? ' does not listen on the network (listen_addresses defaults to localhost only)' : ' does not listen on this address'}`,
    remediation: [
      text(`On the database host: is PostgreSQL running (systemctl status postgresql, or pg_lsclusters on Debian), and on which port? The port here is ${c.port}.`),
      { kind: 'sql', title: 'On the database host, as a superuser: where the server listens', text: 'SHOW listen_addresses;\nSHOW port;' },
      ...(remote
        ? [
            { kind: 'sql' as const, title: 'To accept network connections: listen on every address (a restart is needed), then admit this client in pg_hba.conf', text: "ALTER SYSTEM SET listen_addresses = '*';" },
            text(`Then check the firewalls between this machine and ${c.host} (port ${c.port}/tcp).`),
          ]
        : []),
    ],
  };
};

export const diagnoseTimeout: Diagnoser = (e, target, limits) => {
  if (!/timeout expired|Connection terminated due to connection timeout|ETIMEDOUT/i.test(`${e.code ?? ''} ${e.message}`)) return undefined;
  const c = target.connection;
  const at = endpointText(target);
  const seconds = limits.connectTimeoutMs / 1000;
  const socket = isSocketHost(c.host);
  const steps: Remediation[] = [];
  if (!socket) {
    steps.push(text(`Check that port ${c.port} on ${c.host} is PostgreSQL's (on that host: ss -ltnp 'sport = :${c.port}') and that no firewall or proxy between accepts the connection and then drops it.`));
    const t = targetLines(target);
    steps.push(
      FIND_HBA_FILE,
      {
        kind: 'config',
        title: 'If the pg_hba.conf line that matches this connection says "ident" (or ldap, radius, pam), the login waits on that service: add above it, so that this database and role log in with a password',
        text: t.lines.join('\n'),
      },
      RELOAD,
      ...t.notes.map(text),
    );
  } else {
    steps.push(text('The server accepted the socket connection and never finished the login: check the server log for the authentication method in use (pam, ldap and radius wait on outside services) and whether the server is overloaded.'));
  }
  steps.push(text(`Synapse would wait the same way at startup: set connect_timeout (seconds) under database.args. Raise --connect-timeout (now ${seconds} s) only if the network is just slow.`));
  return {
    code: 'connect-timeout',
    message: socket
      ? `no answer from ${at} within ${seconds} s: the server accepted the connection but never finished the login`
      : `no answer from ${at} within ${seconds} s: something accepted the TCP connection but the PostgreSQL login never finished. Either what listens there does not answer PostgreSQL (a firewall or proxy that accepts and drops, a wrong port), or the server is waiting on an outside service to authenticate: an "ident" rule in pg_hba.conf asks the ident server on this machine (port 113), and one that accepts but never replies holds the login forever`,
    remediation: steps,
  };
};

export const diagnoseSsl: Diagnoser = (e, target) => {
  const c = target.connection;
  if (/does not support SSL/i.test(e.message)) {
    return {
      code: 'connect-ssl-unsupported',
      message: `${endpointText(target)} does not do SSL (its ssl setting is off), but sslmode is "${c.sslmode}", which insists on it`,
      remediation: [
        {
          kind: 'sql',
          title: 'Either turn SSL on at the server (as a superuser; ssl_cert_file and ssl_key_file must name a certificate and key in the data directory), then reload',
          text: "ALTER SYSTEM SET ssl = on;\nSELECT pg_reload_conf();",
        },
        {
          kind: 'config',
          title: 'Or, if the network between is trusted (the same host, a private link), let the client go without SSL: under database.args in homeserver.yaml',
          text: 'database:\n  args:\n    sslmode: prefer',
        },
      ],
    };
  }
  if (/self[- ]signed certificate|unable to verify|unable to get local issuer|does not match certificate|certificate has expired|altnames/i.test(e.message)) {
    return {
      code: 'connect-ssl-verify',
      message: `the certificate of ${endpointText(target)} did not verify under sslmode "${c.sslmode}": ${e.message}`,
      remediation: [
        text('verify-ca checks that the certificate is signed by the CA in sslrootcert; verify-full also checks that it names the host you connect to (use the name in the certificate, not an IP address, as host).'),
        {
          kind: 'config',
          title: 'Give the CA that signed the server certificate, under database.args',
          text: `database:\n  args:\n    sslmode: ${c.sslmode === 'verify-ca' ? 'verify-ca' : 'verify-full'}\n    sslrootcert: /path/to/root.crt`,
        },
      ],
    };
  }
  return undefined;
};
