// pg_hba.conf lines as we print them: columns aligned like the stock file, names quoted the way
// the server's tokenizer reads them (hba.c: whitespace and commas split tokens, "" inside quotes
// is a literal quote, a quoted keyword is a plain name).
import { maskToPrefix } from './ip.js';

export type HbaType = 'local' | 'host' | 'hostssl' | 'hostnossl' | 'hostgssenc' | 'hostnogssenc';

export interface HbaLine {
  type: HbaType;
  databases: string[];
  users: string[];
  /** CIDR, a host name, or a keyword (all, samehost, samenet); absent for `local`. */
  address?: string;
  method: string;
  options?: string[];
}

const KEYWORDS = new Set(['all', 'sameuser', 'samerole', 'samegroup', 'replication']);

/** A database or role name as a pg_hba.conf token. */
export function hbaName(name: string): string {
  const plain = /^[A-Za-z0-9_.$-]+$/.test(name) && !KEYWORDS.has(name.toLowerCase());
  return plain ? name : `"${name.replace(/"/g, '""')}"`;
}

export function formatHbaLine(line: HbaLine, { quote = true } = {}): string {
  const names = (list: string[]) => list.map((n) => (quote ? hbaName(n) : n)).join(',');
  const cols = [line.type, names(line.databases), names(line.users)];
  // `local` lines leave the address column empty, as in the stock file.
  cols.push(line.type === 'local' ? '' : (line.address ?? 'all'));
  // The stock file's spacing, so that a pasted line lines up with its neighbours.
  const widths = [8, 16, 16, 24];
  const padded = cols.map((c, i) => c.padEnd(Math.max(widths[i]!, c.length + (c ? 1 : 0)))).join('');
  return [padded + line.method, ...(line.options ?? [])].join(' ');
}

/** A row of pg_hba_file_rules (row_to_json, so PG10's missing columns are simply absent). */
export interface HbaFileRule {
  rule_number?: number | null;
  file_name?: string | null;
  line_number: number;
  type: string | null;
  database: string[] | null;
  user_name: string[] | null;
  address: string | null;
  netmask: string | null;
  auth_method: string | null;
  options: string[] | null;
  error: string | null;
}

/** The address column as one pg_hba.conf token: 10.0.0.0 + 255.0.0.0 → 10.0.0.0/8. */
export function ruleAddress(rule: Pick<HbaFileRule, 'address' | 'netmask'>): string | undefined {
  if (!rule.address) return undefined;
  if (!rule.netmask) return rule.address;
  const prefix = maskToPrefix(rule.netmask);
  return prefix === undefined ? `${rule.address} ${rule.netmask}` : `${rule.address}/${prefix}`;
}

/**
 * A rule as a line again, with another method if given. The view has already unquoted names, so
 * a name that needs quotes is quoted again; keywords, +groups, @files and /regexes stay as they
 * are (the view shows a quoted "all" and the keyword alike).
 */
export function ruleToLine(rule: HbaFileRule, method = rule.auth_method ?? 'reject'): string {
  const token = (n: string) => (KEYWORDS.has(n) || /^[+@/]/.test(n) ? n : hbaName(n));
  const sameMethod = method === rule.auth_method;
  return formatHbaLine(
    {
      type: (rule.type ?? 'host') as HbaType,
      databases: (rule.database ?? []).map(token),
      users: (rule.user_name ?? []).map(token),
      address: ruleAddress(rule),
      method,
      // Under another method only clientcert still applies (map= belongs to ident/peer/cert/gss).
      options: sameMethod ? (rule.options ?? undefined) : (rule.options ?? []).filter((o) => o.startsWith('clientcert=')),
    },
    { quote: false },
  );
}
