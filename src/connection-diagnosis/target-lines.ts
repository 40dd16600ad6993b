// The pg_hba.conf line(s) that admit exactly this target: its database, its role, and the address
// the server sees (or `local` for a Unix socket).
import { passwordConfigured, type CheckTarget } from '../target-view.js';
import { clientAddresses, hostKind, isSocketHost, type ClientAddress } from './endpoint.js';
import { formatHbaLine, type HbaType } from './hba-line.js';
import { hostCidr, isLoopback } from './ip.js';

export interface TargetLines {
  lines: string[];
  method: string;
  /** Whether the lines admit a network address that is not loopback. */
  remote: boolean;
  /** Notes to show with the lines (an address we could not work out, a wider network). */
  notes: string[];
  addresses: ClientAddress[];
}

/**
 * scram-sha-256 when a password is configured. Without one, the seed guide's `trust`, but only
 * for the socket and loopback: trust on a network address lets anyone there log in as the role.
 */
export function methodFor(target: CheckTarget, remote: boolean): string {
  if (passwordConfigured(target.connection)) return 'scram-sha-256';
  return remote ? 'scram-sha-256' : 'trust';
}

export function targetLines(target: CheckTarget, opts: { type?: HbaType; method?: string } = {}): TargetLines {
  const c = target.connection;
  const base = { databases: [c.database], users: [c.user] };
  if (isSocketHost(c.host)) {
    const method = opts.method ?? methodFor(target, false);
    return { lines: [formatHbaLine({ ...base, type: 'local', method })], method, remote: false, notes: [], addresses: [] };
  }
  const addresses = clientAddresses(c.host, c.port);
  const remote = addresses.some((a) => a.client === undefined || !isLoopback(a.client)) || (addresses.length === 0 && hostKind(c.host) === 'remote');
  const method = opts.method ?? methodFor(target, remote);
  const notes: string[] = [];
  const cidrs: string[] = [];
  for (const a of addresses) {
    cidrs.push(a.client ? hostCidr(a.client) : `CLIENT_ADDRESS/${a.family === 4 ? 32 : 128}`);
    if (a.client && a.network && !isLoopback(a.client)) {
      notes.push(`${hostCidr(a.client)} admits this machine only; ${a.network} would admit its whole network.`);
    }
  }
  if (cidrs.length === 0) cidrs.push('CLIENT_ADDRESS/32');
  if (cidrs.some((x) => x.startsWith('CLIENT_ADDRESS'))) {
    notes.push(`Replace CLIENT_ADDRESS with the address this machine has towards ${c.host} (the server log's "connection received: host=..." line shows it).`);
  }
  const list = [...new Set(cidrs)];
  const type = opts.type ?? 'host';
  return {
    lines: list.map((address) => formatHbaLine({ ...base, type, address, method })),
    method,
    remote,
    notes,
    addresses,
  };
}
