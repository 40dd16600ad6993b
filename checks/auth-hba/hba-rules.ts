// pg_hba.conf rules as pg_hba_file_rules shows them, matched against a login the way the server
// matches them (hba.c: check_hba), and compared with each other to find lines that can never match.
// Host names, samenet and (sometimes) samehost need the server's own name lookups or interface
// list; those come out as "unknown" rather than a guess.
import type { HbaFileRule } from '../../src/connection-diagnosis/hba-line.js';
import { isLoopback, maskToPrefix, parseAddress, prefixMask, rangeContains, type Address } from '../../src/connection-diagnosis/ip.js';

export interface Login {
  /** Unix socket (inet_client_addr() is NULL). */
  local: boolean;
  clientAddr?: string;
  serverAddr?: string;
  ssl: boolean;
  gss: boolean;
  database: string;
  user: string;
  /** Roles the user is a member of, directly or not, itself included (not superuser magic). */
  memberOf: Set<string>;
}

export type Tri = 'yes' | 'no' | 'unknown';

function all(results: Tri[]): Tri {
  if (results.includes('no')) return 'no';
  return results.includes('unknown') ? 'unknown' : 'yes';
}

function any(results: Tri[]): Tri {
  if (results.includes('yes')) return 'yes';
  return results.includes('unknown') ? 'unknown' : 'no';
}

/** A `/regex` token (PostgreSQL 16+); JavaScript reads the common subset of POSIX regexes alike. */
function regexToken(token: string, value: string): Tri {
  try {
    return new RegExp(token.slice(1)).test(value) ? 'yes' : 'no';
  } catch {
    return 'unknown';
  }
}

function typeMatches(type: string, login: Login): Tri {
  switch (type) {
    case 'local': return login.local ? 'yes' : 'no';
    case 'host': return login.local ? 'no' : 'yes';
    case 'hostssl': return !login.local && login.ssl ? 'yes' : 'no';
    case 'hostnossl': return !login.local && !login.ssl ? 'yes' : 'no';
    case 'hostgssenc': return !login.local && login.gss ? 'yes' : 'no';
    case 'hostnogssenc': return !login.local && !login.gss ? 'yes' : 'no';
    default: return 'unknown';
  }
}

function databaseMatches(tokens: string[], login: Login): Tri {
  return any(
    tokens.map((t): Tri => {
      if (t === 'all') return 'yes';
      if (t === 'sameuser') return login.database === login.user ? 'yes' : 'no';
      if (t === 'samerole' || t === 'samegroup') return login.memberOf.has(login.database) ? 'yes' : 'no';
      if (t === 'replication') return 'no';
      if (t.startsWith('/')) return regexToken(t, login.database);
      return t === login.database ? 'yes' : 'no';
    }),
  );
}

function userMatches(tokens: string[], login: Login): Tri {
  return any(
    tokens.map((t): Tri => {
      if (t === 'all') return 'yes';
      if (t.startsWith('+')) return login.memberOf.has(t.slice(1)) ? 'yes' : 'no';
      if (t.startsWith('/')) return regexToken(t, login.user);
      return t === login.user ? 'yes' : 'no';
    }),
  );
}

interface Range {
  addr: Address;
  mask: number[];
}

export function ruleRange(rule: Pick<HbaFileRule, 'address' | 'netmask'>): Range | undefined {
  if (!rule.address) return undefined;
  const addr = parseAddress(rule.address);
  if (!addr) return undefined;
  const prefix = rule.netmask ? maskToPrefix(rule.netmask) : addr.family === 4 ? 32 : 128;
  const mask = prefix !== undefined ? prefixMask(addr.family, prefix) : parseAddress(rule.netmask!)?.bytes;
  return mask ? { addr, mask } : undefined;
}

function addressMatches(rule: HbaFileRule, login: Login): Tri {
  if (rule.type === 'local') return 'yes';
  const client = login.clientAddr ? parseAddress(login.clientAddr) : undefined;
  if (!client) return 'unknown';
  const a = rule.address ?? '';
  if (a === 'all') return 'yes';
  const sameHost = login.clientAddr === login.serverAddr || isLoopback(login.clientAddr!);
  if (a === 'samehost') return sameHost ? 'yes' : 'unknown';
  if (a === 'samenet') return sameHost ? 'yes' : 'unknown';
  const range = ruleRange(rule);
  if (!range) return 'unknown';
  return rangeContains(range, { addr: client, mask: prefixMask(client.family, client.family === 4 ? 32 : 128) }) ? 'yes' : 'no';
}

export function ruleMatches(rule: HbaFileRule, login: Login): Tri {
  if (rule.error || !rule.type) return 'no';
  return all([
    typeMatches(rule.type, login),
    databaseMatches(rule.database ?? [], login),
    userMatches(rule.user_name ?? [], login),
    addressMatches(rule, login),
  ]);
}

/** The rules that can apply, in the order the server tries them (rule_number from PG15, else line). */
export function orderedRules(rows: HbaFileRule[]): HbaFileRule[] {
  return rows
    .filter((r) => !r.error && r.type)
    .sort((a, b) => (a.rule_number ?? a.line_number) - (b.rule_number ?? b.line_number));
}

export interface MatchResult {
  matched?: HbaFileRule;
  /** Rules before the match that may match too (host names, samenet): the server may pick one of them. */
  uncertain: HbaFileRule[];
}

export function findMatchingRule(rules: HbaFileRule[], login: Login): MatchResult {
  const uncertain: HbaFileRule[] = [];
  for (const rule of orderedRules(rules)) {
    const m = ruleMatches(rule, login);
    if (m === 'yes') return { matched: rule, uncertain };
    if (m === 'unknown') uncertain.push(rule);
  }
  return { uncertain };
}

function typeCovers(outer: string, inner: string): boolean {
  return outer === inner || (outer === 'host' && inner.startsWith('host'));
}

function tokensCover(outer: string[], inner: string[], kind: 'database' | 'user'): boolean {
  return inner.every((t) => {
    if (kind === 'database' && t === 'replication') return outer.includes('replication');
    return outer.includes('all') || outer.includes(t);
  });
}

function addressCovers(outer: HbaFileRule, inner: HbaFileRule): boolean {
  if (outer.type === 'local') return true;
  if (outer.address === 'all') return true;
  const a = ruleRange(outer);
  const b = ruleRange(inner);
  if (a && b) return rangeContains(a, b);
  return !!outer.address && outer.address === inner.address && (outer.netmask ?? '') === (inner.netmask ?? '');
}

/** Whether every connection `inner` could match is caught by `outer` first. */
export function ruleCovers(outer: HbaFileRule, inner: HbaFileRule): boolean {
  if (!outer.type || !inner.type) return false;
  return (
    typeCovers(outer.type, inner.type) &&
    tokensCover(outer.database ?? [], inner.database ?? [], 'database') &&
    tokensCover(outer.user_name ?? [], inner.user_name ?? [], 'user') &&
    addressCovers(outer, inner)
  );
}

export interface Shadowed {
  rule: HbaFileRule;
  by: HbaFileRule;
}

/** Rules that can never match because an earlier rule catches everything they would. */
export function shadowedRules(rows: HbaFileRule[]): Shadowed[] {
  const rules = orderedRules(rows);
  const out: Shadowed[] = [];
  rules.forEach((rule, i) => {
    const by = rules.slice(0, i).find((earlier) => ruleCovers(earlier, rule));
    if (by) out.push({ rule, by });
  });
  return out;
}

/** Whether a rule admits addresses beyond this host: all, samenet, host names, non-loopback ranges. */
export function admitsNetwork(rule: HbaFileRule): boolean {
  if (!rule.type || rule.type === 'local') return false;
  const a = rule.address ?? '';
  if (a === 'samehost') return false;
  if (a === 'localhost') return false;
  const range = ruleRange(rule);
  if (!range) return true;
  const net = range.addr;
  // A range is local only when it lies inside 127.0.0.0/8 or is exactly ::1.
  if (net.family === 4) return !rangeContains({ addr: parseAddress('127.0.0.0')!, mask: prefixMask(4, 8) }, range);
  return !rangeContains({ addr: parseAddress('::1')!, mask: prefixMask(6, 128) }, range);
}
