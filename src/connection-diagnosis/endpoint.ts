// Where a connection goes and which address the server sees it come from: what a pg_hba.conf
// line must name. A failed login does not tell us the address we used, so we work it out again
// the way libpq and the kernel would: resolve the host name (getaddrinfo), then ask the kernel
// which source address it would pick for each server address (a UDP "connect" sends nothing).
import { builtin } from '../builtin.js';
import { networkInterfaces } from 'node:os';
import type { CheckTarget } from '../target-view.js';
import { applyMask, formatAddress, isLoopback, parseAddress, prefixMask } from './ip.js';

export type HostKind = 'socket' | 'loopback' | 'remote';

/** "the Unix socket /run/postgresql/.s.PGSQL.5432" or "db.internal:5432". */
export function endpointText(target: CheckTarget): string {
  const { host, port } = target.connection;
  if (host.startsWith('/')) return `the Unix socket ${host}/.s.PGSQL.${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isSocketHost(host: string): boolean {
  return host === '' || host.startsWith('/') || host.startsWith('@');
}

/** Judged from the text alone: no name resolution. A name other than localhost counts as remote. */
export function hostKind(host: string): HostKind {
  if (isSocketHost(host)) return 'socket';
  if (host.toLowerCase() === 'localhost' || isLoopback(host)) return 'loopback';
  return 'remote';
}

export interface ClientAddress {
  family: 4 | 6;
  /** The server address the host name resolved to. */
  server: string;
  /** The source address the server sees; undefined when the kernel would not say. */
  client?: string;
  /** The client's interface network (e.g. 192.0.2.0/24), when the address is on a local interface. */
  network?: string;
}

const RESOLVE_SCRIPT = `
const dns = require('node:dns');
const dgram = require('node:dgram');
const [host, port] = process.argv.slice(1);
dns.lookup(host, { all: true, verbatim: true }, async (err, addrs) => {
  const out = [];
  for (const a of err ? [] : addrs) {
    await new Promise((done) => {
      const s = dgram.createSocket(a.family === 6 ? 'udp6' : 'udp4');
      const finish = (client) => { out.push({ family: a.family, server: a.address, client }); try { s.close(); } catch {} done(); };
      s.on('error', () => finish(undefined));
      s.connect(Number(port), a.address, () => finish(s.address().address));
    });
  }
  process.stdout.write(JSON.stringify(out));
});
`;

function interfaceNetwork(address: string): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const iface of list ?? []) {
      if (iface.address !== address || !iface.cidr) continue;
      const a = parseAddress(address);
      const prefix = Number(iface.cidr.split('/')[1]);
      if (!a || !Number.isInteger(prefix)) return undefined;
      return `${formatAddress({ family: a.family, bytes: applyMask(a, prefixMask(a.family, prefix)) })}/${prefix}`;
    }
  }
  return undefined;
}

/**
 * The addresses a TCP login to `host` arrives from, one per address the name resolves to.
 * Diagnosers are synchronous and Node has no synchronous getaddrinfo, so a short-lived child
 * process does the lookup (only on the failure path, bounded by `timeoutMs`).
 */
export function clientAddresses(host: string, port: number, timeoutMs = 3000): ClientAddress[] {
  if (isSocketHost(host)) return [];
  const literal = parseAddress(host);
  if (literal && isLoopback(host)) {
    // The kernel answers a loopback destination from 127.0.0.1 (or ::1), whatever 127.x was dialled.
    return [{ family: literal.family, server: host, client: literal.family === 4 ? '127.0.0.1' : '::1' }];
  }
  let found: ClientAddress[] = [];
  try {
    // Only this diagnosis of a remote host starts a process.
    const { spawnSync } = builtin('node:child_process');
    const r = spawnSync(process.execPath, ['-e', RESOLVE_SCRIPT, host, String(port)], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status === 0 && r.stdout) found = JSON.parse(r.stdout) as ClientAddress[];
  } catch {
    found = [];
  }
  if (found.length === 0 && literal) found = [{ family: literal.family, server: host }];
  const seen = new Set<string>();
  return found
    .map((f) => ({ ...f, client: f.client?.replace(/^::ffff:(?=\d+\.)/, ''), network: f.client ? interfaceNetwork(f.client) : undefined }))
    .filter((f) => {
      const key = `${f.family} ${f.client ?? f.server}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
