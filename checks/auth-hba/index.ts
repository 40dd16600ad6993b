import { defineCheck } from '../../src/define-check.js';
import { ruleAddress, ruleToLine, type HbaFileRule } from '../../src/connection-diagnosis/hba-line.js';
import { admitsNetwork, findMatchingRule, shadowedRules, type Login } from './hba-rules.js';
import { isLoopback } from '../../src/connection-diagnosis/ip.js';
import { RELOAD, setScramPasswordStep } from '../../src/connection-diagnosis/remediation.js';
import { quoteIdent, shellQuote } from '../../src/quote.js';
import type { CheckContext, Finding, Remediation } from '../../src/types.js';

interface LoginRow extends Record<string, unknown> {
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
function loginSql(major: number): string {
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

const RULES_SQL = 'SELECT row_to_json(r) AS rule FROM pg_hba_file_rules r';

const STORED_SQL = `
SELECT CASE WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
            WHEN rolpassword LIKE 'md5%' THEN 'md5'
            WHEN rolpassword IS NULL THEN 'none' ELSE 'other' END AS stored
  FROM pg_authid WHERE rolname = session_user`;

function describeLogin(l: Login): string {
  if (l.local) return 'over the Unix socket';
  const enc = l.ssl ? 'with SSL' : l.gss ? 'with GSS encryption' : 'without encryption';
  return `over TCP from ${l.clientAddr} ${enc}`;
}

interface Where {
  file: string | undefined;
  label: string;
}

/** The main file (SHOW hba_file, when visible) and whether include files add more (PG16+). */
interface HbaFiles {
  main: string | undefined;
  several: boolean;
}

function whereIs(rule: HbaFileRule, files: HbaFiles): Where {
  const file = rule.file_name ?? files.main;
  return { file, label: `line ${rule.line_number}${files.several && rule.file_name ? ` of ${rule.file_name}` : ''}` };
}

function objectOf(rule: HbaFileRule, hbaFile: HbaFiles): string {
  return `${whereIs(rule, hbaFile).file ?? 'pg_hba.conf'}:${rule.line_number}`;
}

function whoText(rule: HbaFileRule): string {
  const users = rule.user_name ?? [];
  return users.includes('all') ? 'any role' : users.join(', ');
}

function replaceLineStep(rule: HbaFileRule, hbaFile: HbaFiles, method: string): Remediation {
  const w = whereIs(rule, hbaFile);
  return {
    kind: 'config',
    title: `Replace ${w.label} of ${w.file ?? 'pg_hba.conf (SHOW hba_file; shows where it is)'} with`,
    text: ruleToLine(rule, method),
  };
}

function md5Roles(): Remediation {
  return {
    kind: 'sql',
    title: 'As a superuser: the roles whose password is still stored as MD5 (each needs a new SCRAM password before the rule changes)',
    text: "SELECT rolname FROM pg_authid WHERE rolcanlogin AND rolpassword LIKE 'md5%';",
  };
}

function matchedFinding(ctx: CheckContext, rule: HbaFileRule, login: Login, stored: string | undefined, hbaFile: HbaFiles): Finding {
  const w = whereIs(rule, hbaFile);
  const line = ruleToLine(rule);
  const method = rule.auth_method ?? '';
  const details = { line: rule.line_number, file: w.file, rule: line, method, login: describeLogin(login) };
  const head = `this connection (${login.user} to ${login.database} ${describeLogin(login)}) matched ${w.label}: "${line.replace(/\s+/g, ' ')}"`;
  const object = objectOf(rule, hbaFile);
  const remote = !login.local && !!login.clientAddr && !isLoopback(login.clientAddr);
  const passwordFirst = (why: string): Remediation[] =>
    stored === 'scram-sha-256' ? [] : stored === undefined ? [md5Roles()] : [setScramPasswordStep(ctx.target, login.user, why)];
  switch (method) {
    case 'trust':
      if (remote) {
        return {
          code: 'trust-network', status: 'error',
          object,
          message: `${head}: trust for a network address. Anyone who reaches the server from ${ruleAddress(rule) ?? 'there'} logs in as ${whoText(rule)} without a password. Require scram-sha-256`,
          details,
          remediation: [...passwordFirst('The role needs a password first'), replaceLineStep(rule, hbaFile, 'scram-sha-256'), RELOAD, { kind: 'text', text: 'Then put the password under database.args in homeserver.yaml.' }],
        };
      }
      // Not flagged: trust over the socket or loopback is a choice for a single-user host (and the
      // seed guide's own no-password setup); the message still says what it allows.
      return { code: 'trust-local', status: 'ok', object, message: `${head}: trust, so any local user of this machine can log in as ${login.user} without a password`, details };
    case 'md5':
    case 'password':
      return {
        code: 'md5-rule', status: 'warning',
        object,
        message:
          method === 'md5'
            ? `${head}: md5. Prefer scram-sha-256: MD5 password hashes are weak, and PostgreSQL 18 deprecates MD5 passwords (support will be removed)`
            : `${head}: password, which sends the password in clear text. Use scram-sha-256`,
        details,
        remediation: [...passwordFirst('Before changing the rule'), replaceLineStep(rule, hbaFile, 'scram-sha-256'), RELOAD],
      };
    case 'ident':
      return { code: 'ident-rule', status: 'info', object, message: `${head}: ident, which trusts the ident server on the client machine (port 113) to name the OS user; one that accepts and never answers holds every login, and Synapse running as another OS user is refused. A scram-sha-256 line for this database and role is sturdier`, details };
    case 'peer':
      return { code: 'peer-rule', status: 'info', object, message: `${head}: peer, which admits only the OS user of the same name as the role (or one mapped in pg_ident.conf): Synapse, running as its own OS user, needs that map or a password rule`, details };
    default:
      return { code: 'rule-ok', status: 'ok', object, message: `${head}: ${method}`, details };
  }
}

export default defineCheck({
  id: 'auth-hba',
  title: 'pg_hba.conf rules for this connection',
  description: 'Which pg_hba.conf line admitted this connection, how safe its method is, and lines that are broken or can never match.',
  docs: `Reads pg_hba_file_rules (the file as it is on disk) and finds the line the server matched for
this connection: its type (local/host/hostssl...), database, role and client address.
- A line the server cannot parse is an error: the server keeps the rules it loaded before, and
  will refuse to start at the next restart ("could not load pg_hba.conf").
- trust for a network address is an error: anyone who reaches the server logs in without a password.
  trust over the socket or loopback is reported, not flagged (any local user may log in).
- md5 and password are warnings: use scram-sha-256 (PostgreSQL 18 deprecates MD5 passwords).
  A role whose password is still stored as MD5 cannot log in under a scram-sha-256 line, so
  store it again as SCRAM first (psql's \\password with password_encryption = 'scram-sha-256').
- ident and peer are info: they depend on the OS user Synapse runs as (and ident on an ident
  server that answers).
- A line that comes after a broader one (the first matching line decides) can never match: info,
  with where to move it. This is the classic "I added the line and nothing changed" (Synapse #4293).
Reading pg_hba_file_rules needs a superuser, or both grants below (pg_read_all_settings is not
enough, on PostgreSQL 10 through 18):
  GRANT SELECT ON pg_hba_file_rules TO <role>;
  GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO <role>;
Without them the check is skipped. On PostgreSQL 16+ system_user tells which method the loaded
rules used; a file edited but not reloaded is reported. Host names and samenet in the address
column need the server's own lookups and are reported as uncertain.`,
  codes: {
    'rule-ok': { status: 'ok', summary: 'The pg_hba.conf line that admits this connection uses a sound method.' },
    'trust-local': { status: 'ok', summary: 'trust over the socket or loopback: any local user may log in as the role.' },
    'trust-network': { status: 'error', summary: 'The line that admits this connection trusts a network address: no password is asked.', remediation: ['shell', 'config', 'sql', 'text'] },
    'md5-rule': { status: 'warning', summary: 'The line that admits this connection uses md5 or password instead of scram-sha-256.', remediation: ['shell', 'config', 'sql'] },
    'ident-rule': { status: 'info', summary: 'The line that admits this connection uses ident.' },
    'peer-rule': { status: 'info', summary: 'The line that admits this connection uses peer.' },
    'rules-unreadable': { status: 'skipped', summary: 'The role may not read pg_hba_file_rules.', remediation: ['sql'] },
    'invalid-line': { status: 'error', summary: 'A line of pg_hba.conf is invalid: the server will refuse to start at its next restart.', remediation: ['shell', 'text', 'sql'] },
    'reload-pending': { status: 'warning', summary: 'The server logged this connection in with another method than pg_hba.conf on disk says: a reload is pending.', remediation: ['sql'] },
    'no-rule-on-disk': { status: 'warning', summary: 'No line of pg_hba.conf on disk admits this connection: the next reload refuses it.' },
    'host-name-rule-uncertain': { status: 'info', summary: 'Lines with host names or samenet may match this connection before the one found.' },
    'other-trust-network': { status: 'error', summary: 'Another line trusts a network address.', remediation: ['config', 'sql'] },
    'md5-password-stored': { status: 'warning', summary: 'The role\'s password is stored as MD5 while the server stores new ones as SCRAM.', remediation: ['shell'] },
    'unreachable-rule': { status: 'info', summary: 'A line can never match: a line above it catches every connection it would.', remediation: ['config', 'sql'] },
  },
  async run(ctx) {
    const { facts } = ctx;
    const [row] = await ctx.query<LoginRow>(loginSql(facts.major));
    if (!row) throw new Error('the login query returned no row');
    if (!row.can_read_rules) {
      return {
        code: 'rules-unreadable', status: 'skipped',
        message: `${facts.user} may not read pg_hba_file_rules (a superuser may; pg_read_all_settings is not enough): grant it the view and its function, or run pg-preflight as a superuser`,
        remediation: [
          {
            kind: 'sql',
            title: 'As a superuser, to let this role run the check',
            text: `GRANT SELECT ON pg_hba_file_rules TO ${quoteIdent(facts.user)};\nGRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO ${quoteIdent(facts.user)};`,
          },
        ],
      };
    }
    const rules = (await ctx.query<{ rule: HbaFileRule }>(RULES_SQL)).map((r) => r.rule);
    const stored = row.can_read_authid ? (await ctx.query<{ stored: string }>(STORED_SQL))[0]?.stored : undefined;
    const hbaFile: HbaFiles = {
      main: facts.settings.get('hba_file')?.setting,
      several: new Set(rules.map((r) => r.file_name).filter(Boolean)).size > 1,
    };
    const login: Login = {
      local: row.client_addr === null,
      clientAddr: row.client_addr ?? undefined,
      serverAddr: row.server_addr ?? undefined,
      ssl: row.ssl,
      gss: row.gss,
      database: row.database,
      user: row.login_role,
      memberOf: new Set(row.member_of),
    };
    const findings: Finding[] = [];

    for (const bad of rules.filter((r) => r.error)) {
      const w = whereIs(bad, hbaFile);
      findings.push({
        code: 'invalid-line', status: 'error',
        object: objectOf(bad, hbaFile),
        message: `${w.label} of ${w.file ?? 'pg_hba.conf'} is invalid: ${bad.error}. The server keeps the rules it loaded before this line was written, and will refuse to start at its next restart`,
        details: { line: bad.line_number, file: w.file, error: bad.error },
        remediation: [
          w.file
            ? { kind: 'shell', title: `Fix the line, or comment it out (as the owner of the file, e.g. sudo -u postgres)`, text: `sed -i '${bad.line_number}s/^/# /' ${shellQuote(w.file)}` }
            : { kind: 'text', text: `Fix or comment out line ${bad.line_number} of the file SHOW hba_file; names.` },
          RELOAD,
        ],
      });
    }

    const { matched, uncertain } = findMatchingRule(rules, login);
    if (matched) {
      findings.push(matchedFinding(ctx, matched, login, stored, hbaFile));
      const loadedMethod = row.system_user?.split(':')[0];
      if (loadedMethod && matched.auth_method && loadedMethod !== matched.auth_method) {
        findings.push({
          code: 'reload-pending', status: 'warning',
          object: objectOf(matched, hbaFile),
          message: `the server logged this connection in with ${loadedMethod}, but the file on disk says ${matched.auth_method} for it: pg_hba.conf was changed and not reloaded (or a reload failed), so the next reload or restart changes how Synapse logs in`,
          details: { systemUser: row.system_user, fileMethod: matched.auth_method },
          remediation: [RELOAD],
        });
      }
    } else if (uncertain.length === 0) {
      findings.push({
        code: 'no-rule-on-disk', status: 'warning',
        message: `no line of pg_hba.conf as it is on disk admits this connection (${login.user} to ${login.database} ${describeLogin(login)}), yet the server let it in: the file was changed and not reloaded. The next reload or restart will refuse this login`,
        details: { login: describeLogin(login) },
      });
    }
    if (uncertain.length > 0) {
      findings.push({
        code: 'host-name-rule-uncertain', status: 'info',
        message: `${uncertain.map((r) => `line ${r.line_number}`).join(', ')} may match this connection${matched ? ` before line ${matched.line_number}` : ''} (host names and samenet need the server's own name lookups), so the server may have used ${uncertain.length > 1 ? 'one of them' : 'it'}`,
        details: { lines: uncertain.map((r) => r.line_number) },
      });
    }

    for (const r of rules.filter((x) => !x.error && x.auth_method === 'trust' && admitsNetwork(x) && x !== matched)) {
      findings.push({
        code: 'other-trust-network', status: 'error',
        object: objectOf(r, hbaFile),
        message: `line ${r.line_number} "${ruleToLine(r).replace(/\s+/g, ' ')}" trusts a network address: anyone who reaches the server from ${ruleAddress(r)} logs in as ${whoText(r)} without a password`,
        details: { line: r.line_number, rule: ruleToLine(r) },
        remediation: [replaceLineStep(r, hbaFile, 'scram-sha-256'), RELOAD],
      });
    }

    if (stored === 'md5' && facts.settings.get('password_encryption')?.setting === 'scram-sha-256') {
      findings.push({
        code: 'md5-password-stored', status: 'warning',
        object: login.user,
        message: `${login.user}'s password is stored as MD5, though the server now stores new passwords as SCRAM (password_encryption = scram-sha-256): it was set before that changed. A scram-sha-256 line would refuse it, and PostgreSQL 18 deprecates MD5 passwords`,
        details: { stored, passwordEncryption: 'scram-sha-256' },
        remediation: [setScramPasswordStep(ctx.target, login.user, 'Store it again')],
      });
    }

    for (const { rule, by } of shadowedRules(rules)) {
      const w = whereIs(rule, hbaFile);
      findings.push({
        code: 'unreachable-rule', status: 'info',
        object: objectOf(rule, hbaFile),
        message: `${w.label} "${ruleToLine(rule).replace(/\s+/g, ' ')}" can never match: line ${by.line_number} "${ruleToLine(by).replace(/\s+/g, ' ')}" above it catches every connection it would (the first matching line decides)`,
        details: { line: rule.line_number, shadowedBy: by.line_number },
        remediation: [
          { kind: 'config', title: `Move it above line ${by.line_number} (delete it at line ${rule.line_number}, insert this above line ${by.line_number}), or delete it`, text: ruleToLine(rule) },
          RELOAD,
        ],
      });
    }
    return findings;
  },
});
