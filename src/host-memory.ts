// This machine's memory, for checks about a server that runs on it. Reading /proc/meminfo is host
// I/O: the CLI does it once (readLocalHostMemory) and hands the result to checks in
// ctx.options.localHostMemory; checks only use the pure helpers below.
import { readFileSync } from 'node:fs';
import type { ConnectionParams } from './config/target.js';
import { hostKind } from './connection-diagnosis/endpoint.js';

export interface HostMemory {
  /** MemTotal. */
  totalBytes: number;
  /** Hugepagesize: the default huge page size. */
  hugePageBytes?: number;
  /** HugePages_Total: huge pages the kernel reserves (vm.nr_hugepages). */
  hugePagesTotal?: number;
  /** HugePages_Free: reserved huge pages no process has touched yet. */
  hugePagesFree?: number;
  /** HugePages_Rsvd: free pages promised to a mapping already (counted in Free). */
  hugePagesReserved?: number;
  /** Where the numbers came from, for messages. */
  source: string;
}

/** Parses /proc/meminfo text; undefined when it has no MemTotal (not Linux, or unreadable). */
export function parseMeminfo(text: string, source = '/proc/meminfo'): HostMemory | undefined {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) fields.set(m[1]!, Number(m[2]) * (/kB\s*$/.test(line) ? 1024 : 1));
  }
  const total = fields.get('MemTotal');
  if (!total) return undefined;
  return {
    totalBytes: total,
    hugePageBytes: fields.get('Hugepagesize'),
    hugePagesTotal: fields.get('HugePages_Total'),
    hugePagesFree: fields.get('HugePages_Free'),
    hugePagesReserved: fields.get('HugePages_Rsvd'),
    source,
  };
}

/** /proc/meminfo of the machine pg-preflight runs on, or undefined where there is none. */
export function readLocalHostMemory(path = '/proc/meminfo'): HostMemory | undefined {
  try {
    return parseMeminfo(readFileSync(path, 'utf8'), path);
  } catch {
    return undefined;
  }
}

/**
 * Whether the connection reaches a server on this machine: a Unix socket, or a loopback address.
 * (A loopback port forwarded to another machine or a container with a memory limit still counts
 * as local here; the messages say where the number came from, and --db-host-memory wins.)
 */
export function isOnThisHost(connection: Pick<ConnectionParams, 'host'>): boolean {
  return hostKind(connection.host) !== 'remote';
}

/** How the server is reached, for "read from /proc/meminfo because ..." messages. */
export function describeLocalReach(connection: Pick<ConnectionParams, 'host'>): string {
  return connection.host.startsWith('/') ? `the Unix socket in ${connection.host}` : `loopback (${connection.host})`;
}
