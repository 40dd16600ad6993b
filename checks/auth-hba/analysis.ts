// auth-hba, the analysis: what the login is, which files hold the rules, and what the matched
// line's method amounts to for this login. The wording (wording.ts) only says it; the matching
// itself is hba-rules.ts.
import type { HbaFileRule } from '../../src/connection-diagnosis/hba-line.js';
import { isLoopback } from '../../src/connection-diagnosis/ip.js';
import type { ServerFacts } from '../../src/types.js';
import type { Login } from './hba-rules.js';

export interface LoginRow extends Record<string, unknown> {
  client_addr: string | null;
  server_addr: string | null;
  login_role: string;
  database: string;
  ssl: boolean;
  gss: boolean;
  system_user: string | null;
  member_of: string[];
  can_read_rules: boolean;
  can_read_authid: boolean;
}

// One round trip for the login and the privileges; the views that need privileges are read only
// when granted, because a query naming them fails as a whole otherwise.
export function loginSql(major: number): string {
  return `
SELECT host(inet_client_addr()) AS client_addr,
       host(inet_server_addr()) AS server_addr,
       session_user AS login_role,
       current_database() AS database,
       coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl,
       ${major >= 12 ? 'coalesce((SELECT encrypted FROM pg_stat_gssapi WHERE pid = pg_backend_pid()), false)' : 'false'} AS gss,
       ${major >= 16 ? 'system_user' : 'NULL::text'} AS system_user,
       ARRAY(WITH RECURSIVE m(oid) AS (
               SELECT oid FROM pg_roles WHERE rolname = session_user
               UNION SELECT a.roleid FROM pg_auth_members a JOIN m ON a.member = m.oid)
             SELECT r.rolname::text FROM pg_roles r JOIN m USING (oid)) AS member_of,
       has_function_privilege('pg_hba_file_rules()', 'EXECUTE')
         AND has_table_privilege('pg_hba_file_rules', 'SELECT') AS can_read_rules,
       has_table_privilege('pg_authid', 'SELECT') AS can_read_authid`;
}

export const RULES_SQL = 'SELECT row_to_json(r) AS rule FROM pg_hba_file_rules r';

export const STORED_SQL = `
SELECT CASE WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
            WHEN rolpassword LIKE 'md5%' THEN 'md5'
            WHEN rolpassword IS NULL THEN 'none' ELSE 'other' END AS stored
  FROM pg_authid WHERE rolname = session_user`;

export function loginOf(row: LoginRow): Login {
  return {
    local: row.client_addr === null,
    clientAddr: row.client_addr ?? undefined,
    serverAddr: row.server_addr ?? undefined,
    ssl: row.ssl,
    gss: row.gss,
    database: row.database,
    user: row.login_role,
    memberOf: new Set(row.member_of),
  };
}

/** The main file (SHOW hba_file, when visible) and whether include files add more (PG16+). */
export interface HbaFiles {
  main: string | undefined;
  several: boolean;
}

export function hbaFilesOf(rules: HbaFileRule[], facts: Pick<ServerFacts, 'settings'>): HbaFiles {
  return {
    main: facts.settings.get('hba_file')?.setting,
    several: new Set(rules.map((r) => r.file_name).filter(Boolean)).size > 1,
  };
}

export interface Where {
  file: string | undefined;
  label: string;
}

export function whereIs(rule: HbaFileRule, files: HbaFiles): Where {
  const file = rule.file_name ?? files.main;
  return { file, label: `line ${rule.line_number}${files.several && rule.file_name ? ` of ${rule.file_name}` : ''}` };
}

export function objectOf(rule: HbaFileRule, hbaFile: HbaFiles): string {
  return `${whereIs(rule, hbaFile).file ?? 'pg_hba.conf'}:${rule.line_number}`;
}

/** What the matched line's method means for this login: the key of the wording's table. */
export type MethodCase = 'trust-network' | 'trust-local' | 'md5' | 'password' | 'ident' | 'peer' | 'other';

export function methodCase(method: string, login: Login): MethodCase {
  if (method === 'trust') {
    // trust over the socket or loopback is a choice for a single-user host (and the seed guide's
    // own no-password setup), not a hole; only a network address is.
    const remote = !login.local && !!login.clientAddr && !isLoopback(login.clientAddr);
    return remote ? 'trust-network' : 'trust-local';
  }
  if (method === 'md5' || method === 'password' || method === 'ident' || method === 'peer') return method;
  return 'other';
}

/** The method the server logged this connection in with (PG16+ system_user), when it differs from the file's. */
export function pendingReloadMethod(systemUser: string | null, matched: HbaFileRule): string | undefined {
  const loaded = systemUser?.split(':')[0];
  return loaded && matched.auth_method && loaded !== matched.auth_method ? loaded : undefined;
}

/** A password stored as MD5 while the server stores new ones as SCRAM: set before that changed. */
export function md5StoredUnderScram(stored: string | undefined, facts: Pick<ServerFacts, 'settings'>): boolean {
  return stored === 'md5' && facts.settings.get('password_encryption')?.setting === 'scram-sha-256';
}
