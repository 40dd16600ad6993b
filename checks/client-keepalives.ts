import { defineCheck } from '../src/define-check.js';
import { hostKind } from '../src/connection-diagnosis/endpoint.js';
import { isLoopback } from '../src/connection-diagnosis/ip.js';
import { argsYaml, isSocket, sectionName, synapseHost, synapseKeywords, type YamlEntry } from '../src/connection-diagnosis/synapse-args.js';
import type { Finding } from '../src/types.js';

// The seed guide's values (docs/postgres.md): probe after 10 s idle, every 10 s, give up after 3.
const SEED: YamlEntry[] = [
  { key: 'keepalives_idle', value: 10, comment: 'seconds of inactivity after which TCP sends a keepalive probe to the server' },
  { key: 'keepalives_interval', value: 10, comment: 'seconds before an unanswered probe is sent again' },
  { key: 'keepalives_count', value: 3, comment: 'unanswered probes after which the connection counts as dead' },
];
const KEEPALIVE_KEYS = ['keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout', 'connect_timeout'];
const CONNECT_TIMEOUT: YamlEntry = { key: 'connect_timeout', value: 10, comment: 'seconds to wait for a connection and login before giving up' };

export default defineCheck({
  id: 'client-keepalives',
  title: 'TCP keepalives and reconnection for Synapse\'s connections',
  description: 'keepalives_* and connect_timeout under database.args for a database across the network, at the level Synapse reads them; cp_reconnect.',
  tags: ['synapse'],
  docs: `When a NAT, firewall or load balancer between Synapse and PostgreSQL silently drops an idle
connection, Synapse blocks on it until the operating system gives up (2 hours and more on Linux
by default): the homeserver hangs (Synapse issue #8574; deployment playbooks added keepalives
for exactly this). libpq's keepalives_idle, keepalives_interval and keepalives_count under
database.args make the client notice within seconds; the seed guide suggests 10, 10 and 3.
- For a TCP connection to a host other than this machine's loopback, missing keepalives_* are a
  warning, with the YAML to add. A Unix socket or loopback connection needs none.
- The same keys directly under database: (not under args:) are an error: Synapse passes only
  args to libpq and ignores them there (a reviewer of Synapse PR #6988 asked exactly this).
- A missing connect_timeout is info: without it a server that accepts and never answers holds
  Synapse's startup forever.
- cp_reconnect: false is a warning: the pool then never replaces a connection that died
  (Synapse made true the default in 1.23, after #8574).
The host is the one in homeserver.yaml (hostaddr wins over host), even when --dsn pointed
pg-preflight elsewhere. Without a config, the keywords of the --dsn URI are read. The server's
own tcp_keepalives_* (which protect the server's side) are shown as detail.`,
  codes: {
    'keepalives-set': { status: 'ok', summary: 'TCP keepalives and connect_timeout are set.' },
    'not-remote': { status: 'ok', summary: 'Synapse connects over a Unix socket or loopback: keepalives do not apply.' },
    'args-misplaced': { status: 'error', summary: 'Connection keys sit directly under database:, where Synapse ignores them.', remediation: ['config'] },
    'cp-reconnect-off': { status: 'warning', summary: 'cp_reconnect is false: the pool keeps dead connections.', remediation: ['config'] },
    'keepalives-off': { status: 'warning', summary: 'keepalives=0 turns TCP keepalives off.', remediation: ['text', 'config'] },
    'keepalives-missing': { status: 'warning', summary: 'Synapse connects over the network without TCP keepalive settings.', remediation: ['config'] },
    'connect-timeout-missing': { status: 'info', summary: 'No connect_timeout: a server that never answers holds Synapse\'s startup forever.', remediation: ['config'] },
  },
  async run(ctx) {
    const { target, facts } = ctx;
    const [row] = await ctx.query<{ server_addr: string | null }>('SELECT host(inet_server_addr()) AS server_addr');
    const keywords = synapseKeywords(target);
    const { host } = synapseHost(target);
    const section = target.synapse?.section;
    const where = sectionName(target);
    // The session's values: over a Unix socket they read 0 (not applicable), over TCP the
    // effective ones (0 configured shows the operating system's default).
    const server = Object.fromEntries(['idle', 'interval', 'count'].map((k) => [k, facts.settings.get(`tcp_keepalives_${k}`)?.setting ?? null]));
    const serverText = row?.server_addr
      ? `The server's own tcp_keepalives_idle/interval/count (its side of the connection) are ${server.idle}/${server.interval}/${server.count}`
      : 'The server\'s own tcp_keepalives_* do not show over the Unix socket pg-preflight used'
    const findings: Finding[] = [];

    if (section) {
      const misplaced = KEEPALIVE_KEYS.concat('cp_reconnect').filter((k) => k in section);
      if (misplaced.length > 0) {
        findings.push({
          code: 'args-misplaced', status: 'error',
          object: where,
          message: `${misplaced.join(', ')} ${misplaced.length > 1 ? 'sit' : 'sits'} directly under ${where}:, where Synapse ignores ${misplaced.length > 1 ? 'them' : 'it'}: only keys under ${where}.args reach libpq (and the pool)`,
          details: { misplaced: Object.fromEntries(misplaced.map((k) => [k, section[k]])) },
          remediation: [
            {
              kind: 'config',
              title: `Move ${misplaced.length > 1 ? 'them' : 'it'} under args: in homeserver.yaml, and delete ${misplaced.join(', ')} from directly under ${where}:`,
              text: argsYaml(target, misplaced.map((k) => ({ key: k, value: section[k] as string | number | boolean }))),
            },
          ],
        });
      }
      if (target.synapse?.cpReconnect === false) {
        findings.push({
          code: 'cp-reconnect-off', status: 'warning',
          object: where,
          message: 'cp_reconnect is false: when the database restarts or a connection drops, the pool keeps the dead connection and Synapse fails or hangs until it restarts (Synapse issue #8574; true is the default since 1.23)',
          remediation: [{ kind: 'config', title: 'Set it back to true (or delete the key) in homeserver.yaml', text: argsYaml(target, [{ key: 'cp_reconnect', value: true }]) }],
        });
      }
    }

    let kind = hostKind(host);
    // A host name that points back at this machine (an /etc/hosts alias): the server says where
    // the connection arrived, but only when that connection went where Synapse's goes.
    const sameHost = (target.connection.keywords.hostaddr || target.connection.keywords.host || target.connection.host) === host;
    if (kind === 'remote' && sameHost && row?.server_addr && isLoopback(row.server_addr)) kind = 'loopback';
    const details = { host, transport: kind, serverKeepalives: server, keywords: Object.fromEntries(KEEPALIVE_KEYS.filter((k) => keywords[k] !== undefined).map((k) => [k, keywords[k]])) };

    if (isSocket(host) || kind !== 'remote') {
      findings.push({
        code: 'not-remote', status: 'ok',
        message: isSocket(host)
          ? `Synapse connects over the Unix socket ${host}: TCP keepalives do not apply`
          : `Synapse connects to ${host}, a loopback address of this machine: no NAT or firewall between to drop idle connections`,
        details,
      });
      return findings;
    }

    const viaDsn = !target.synapse;
    const missing = SEED.filter((e) => keywords[e.key] === undefined);
    const uri = (entries: YamlEntry[]) => entries.map((e) => `${e.key}=${e.value}`).join('&');
    if (keywords.keepalives === '0') {
      findings.push({
        code: 'keepalives-off', status: 'warning',
        message: `keepalives is 0 for ${host}: TCP keepalives are off, so a connection that a NAT or firewall dropped goes unnoticed and Synapse hangs on it (Synapse issue #8574)`,
        details,
        remediation: [
          viaDsn
            ? { kind: 'text', text: 'Remove keepalives=0 from the connection URI.' }
            : { kind: 'config', title: `Turn them on (or delete keepalives from ${where}.args)`, text: argsYaml(target, [{ key: 'keepalives', value: 1 }]) },
        ],
      });
    }
    if (missing.length > 0) {
      findings.push({
        code: 'keepalives-missing', status: 'warning',
        message: `Synapse connects to ${host} over the network without ${missing.map((e) => e.key).join(', ')}: if a NAT, firewall or load balancer drops an idle connection, Synapse waits on it until the OS gives up (over 2 hours on Linux) and the homeserver hangs (Synapse issue #8574). ${serverText}`,
        details,
        remediation: [
          viaDsn
            ? { kind: 'config', title: "Add to the connection URI's query string (and give Synapse the same keys under database.args)", text: uri(missing) }
            : { kind: 'config', title: `Add under ${where}.args in homeserver.yaml (the seed guide's values)`, text: argsYaml(target, missing) },
        ],
      });
    }
    if (keywords.connect_timeout === undefined) {
      findings.push({
        code: 'connect-timeout-missing', status: 'info',
        message: `no connect_timeout for ${host}: a server that accepts the connection and never answers (a half-open firewall, a stuck ident lookup) holds Synapse's startup forever`,
        details,
        remediation: [
          viaDsn
            ? { kind: 'config', title: "Add to the connection URI's query string", text: uri([CONNECT_TIMEOUT]) }
            : { kind: 'config', title: `Add under ${where}.args in homeserver.yaml`, text: argsYaml(target, [CONNECT_TIMEOUT]) },
        ],
      });
    }
    if (findings.length === 0) {
      findings.push({
        code: 'keepalives-set', status: 'ok',
        message: `keepalives ${SEED.map((e) => `${e.key.replace('keepalives_', '')}=${keywords[e.key]}`).join(', ')} and connect_timeout=${keywords.connect_timeout} are set for ${host}`,
        details,
      });
    }
    return findings;
  },
});
