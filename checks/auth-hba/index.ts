import { defineCheck } from '../../src/define-check.js';
import type { HbaFileRule } from '../../src/connection-diagnosis/hba-line.js';
import type { Finding } from '../../src/types.js';
import { hbaFilesOf, loginOf, loginSql, md5StoredUnderScram, pendingReloadMethod, RULES_SQL, STORED_SQL, type LoginRow } from './analysis.js';
import { admitsNetwork, findMatchingRule, shadowedRules } from './hba-rules.js';
import { hostNameUncertain, invalidLine, matchedFinding, md5PasswordStored, noRuleOnDisk, otherTrustNetwork, reloadPending, rulesUnreadable, unreachableRule } from './wording.js';

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
    const readRules = async () => (await ctx.query<{ rule: HbaFileRule }>(RULES_SQL)).map((r) => r.rule);
    const readStored = async () => (await ctx.query<{ stored: string }>(STORED_SQL))[0]?.stored;
    // A superuser may read both views, so they go with the login query; any other role's grants
    // are known only from its answer, and a query naming a view it may not read fails whole.
    const early = facts.isSuperuser ? Promise.all([readRules(), readStored()]) : undefined;
    // Handled here too: a return before it is awaited must not leave a rejection unhandled.
    early?.catch(() => undefined);
    const [row] = await ctx.query<LoginRow>(loginSql(facts.major));
    if (!row) throw new Error('the login query returned no row');
    if (!row.can_read_rules) return rulesUnreadable(facts.user);
    const [rules, stored] = await (early ?? Promise.all([readRules(), row.can_read_authid ? readStored() : undefined]));
    const hbaFile = hbaFilesOf(rules, facts);
    const login = loginOf(row);
    const findings: Finding[] = rules.filter((r) => r.error).map((bad) => invalidLine(bad, hbaFile));

    const { matched, uncertain } = findMatchingRule(rules, login);
    if (matched) {
      findings.push(matchedFinding(ctx, matched, login, stored, hbaFile));
      const loadedMethod = pendingReloadMethod(row.system_user, matched);
      if (loadedMethod) findings.push(reloadPending(matched, hbaFile, loadedMethod, row.system_user));
    } else if (uncertain.length === 0) {
      findings.push(noRuleOnDisk(login));
    }
    if (uncertain.length > 0) findings.push(hostNameUncertain(uncertain, matched));

    for (const r of rules.filter((x) => !x.error && x.auth_method === 'trust' && admitsNetwork(x) && x !== matched)) findings.push(otherTrustNetwork(r, hbaFile));
    if (stored && md5StoredUnderScram(stored, facts)) findings.push(md5PasswordStored(ctx, login, stored));
    for (const { rule, by } of shadowedRules(rules)) findings.push(unreachableRule(rule, by, hbaFile));
    return findings;
  },
});
