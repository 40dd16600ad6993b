// auth-hba, the wording: the findings and the steps that fix them. The analysis (analysis.ts,
// hba-rules.ts) decides; this module only says it. Messages are asserted byte for byte by the tests.
import { ruleAddress, ruleToLine, type HbaFileRule } from '../../src/connection-diagnosis/hba-line.js';
import { RELOAD, setScramPasswordStep } from '../../src/connection-diagnosis/remediation.js';
import { quoteIdent, shellQuote } from '../../src/quote.js';
import type { CheckContext, Finding, Remediation, Status } from '../../src/types.js';
import { methodCase, objectOf, whereIs, type HbaFiles, type MethodCase } from './analysis.js';
import type { Login } from './hba-rules.js';

export function describeLogin(l: Login): string {
  if (l.local) return 'over the Unix socket';
  const enc = l.ssl ? 'with SSL' : l.gss ? 'with GSS encryption' : 'without encryption';
  return `over TCP from ${l.clientAddr} ${enc}`;
}

function oneLine(rule: HbaFileRule): string {
  return ruleToLine(rule).replace(/\s+/g, ' ');
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

/** What the wording of the matched line needs. */
interface Matched {
  ctx: CheckContext;
  rule: HbaFileRule;
  login: Login;
  /** How the role's password is stored; undefined when pg_authid is not readable. */
  stored: string | undefined;
  hbaFile: HbaFiles;
}

function passwordFirst(m: Matched, why: string): Remediation[] {
  return m.stored === 'scram-sha-256' ? [] : m.stored === undefined ? [md5Roles()] : [setScramPasswordStep(m.ctx.target, m.login.user, why)];
}

function toScram(m: Matched, why: string): Remediation[] {
  return [...passwordFirst(m, why), replaceLineStep(m.rule, m.hbaFile, 'scram-sha-256'), RELOAD];
}

interface MethodWording {
  code: string;
  status: Status;
  /** The message after "this connection (...) matched line N: "...": ". */
  says: (m: Matched) => string;
  remediation?: (m: Matched) => Remediation[];
}

const BY_METHOD: Record<MethodCase, MethodWording> = {
  'trust-network': {
    code: 'trust-network',
    status: 'error',
    says: (m) => `trust for a network address. Anyone who reaches the server from ${ruleAddress(m.rule) ?? 'there'} logs in as ${whoText(m.rule)} without a password. Require scram-sha-256`,
    remediation: (m) => [...toScram(m, 'The role needs a password first'), { kind: 'text', text: 'Then put the password under database.args in homeserver.yaml.' }],
  },
  // Not flagged, but the message still says what it allows.
  'trust-local': { code: 'trust-local', status: 'ok', says: (m) => `trust, so any local user of this machine can log in as ${m.login.user} without a password` },
  md5: {
    code: 'md5-rule',
    status: 'warning',
    says: () => 'md5. Prefer scram-sha-256: MD5 password hashes are weak, and PostgreSQL 18 deprecates MD5 passwords (support will be removed)',
    remediation: (m) => toScram(m, 'Before changing the rule'),
  },
  password: {
    code: 'md5-rule',
    status: 'warning',
    says: () => 'password, which sends the password in clear text. Use scram-sha-256',
    remediation: (m) => toScram(m, 'Before changing the rule'),
  },
  ident: {
    code: 'ident-rule',
    status: 'info',
    says: () => 'ident, which trusts the ident server on the client machine (port 113) to name the OS user; one that accepts and never answers holds every login, and Synapse running as another OS user is refused. A scram-sha-256 line for this database and role is sturdier',
  },
  peer: {
    code: 'peer-rule',
    status: 'info',
    says: () => 'peer, which admits only the OS user of the same name as the role (or one mapped in pg_ident.conf): Synapse, running as its own OS user, needs that map or a password rule',
  },
  other: { code: 'rule-ok', status: 'ok', says: (m) => m.rule.auth_method ?? '' },
};

export function matchedFinding(ctx: CheckContext, rule: HbaFileRule, login: Login, stored: string | undefined, hbaFile: HbaFiles): Finding {
  const w = whereIs(rule, hbaFile);
  const line = ruleToLine(rule);
  const method = rule.auth_method ?? '';
  const m: Matched = { ctx, rule, login, stored, hbaFile };
  const wording = BY_METHOD[methodCase(method, login)];
  const head = `this connection (${login.user} to ${login.database} ${describeLogin(login)}) matched ${w.label}: "${line.replace(/\s+/g, ' ')}"`;
  const remediation = wording.remediation?.(m);
  return {
    code: wording.code,
    status: wording.status,
    object: objectOf(rule, hbaFile),
    message: `${head}: ${wording.says(m)}`,
    details: { line: rule.line_number, file: w.file, rule: line, method, login: describeLogin(login) },
    ...(remediation ? { remediation } : {}),
  };
}

export function rulesUnreadable(user: string): Finding {
  return {
    code: 'rules-unreadable', status: 'skipped',
    message: `${user} may not read pg_hba_file_rules (a superuser may; pg_read_all_settings is not enough): grant it the view and its function, or run pg-preflight as a superuser`,
    remediation: [
      {
        kind: 'sql',
        title: 'As a superuser, to let this role run the check',
        text: `GRANT SELECT ON pg_hba_file_rules TO ${quoteIdent(user)};\nGRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO ${quoteIdent(user)};`,
      },
    ],
  };
}

export function invalidLine(bad: HbaFileRule, hbaFile: HbaFiles): Finding {
  const w = whereIs(bad, hbaFile);
  return {
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
  };
}

export function reloadPending(matched: HbaFileRule, hbaFile: HbaFiles, loadedMethod: string, systemUser: string | null): Finding {
  return {
    code: 'reload-pending', status: 'warning',
    object: objectOf(matched, hbaFile),
    message: `the server logged this connection in with ${loadedMethod}, but the file on disk says ${matched.auth_method} for it: pg_hba.conf was changed and not reloaded (or a reload failed), so the next reload or restart changes how Synapse logs in`,
    details: { systemUser, fileMethod: matched.auth_method },
    remediation: [RELOAD],
  };
}

export function noRuleOnDisk(login: Login): Finding {
  return {
    code: 'no-rule-on-disk', status: 'warning',
    message: `no line of pg_hba.conf as it is on disk admits this connection (${login.user} to ${login.database} ${describeLogin(login)}), yet the server let it in: the file was changed and not reloaded. The next reload or restart will refuse this login`,
    details: { login: describeLogin(login) },
  };
}

export function hostNameUncertain(uncertain: HbaFileRule[], matched: HbaFileRule | undefined): Finding {
  return {
    code: 'host-name-rule-uncertain', status: 'info',
    message: `${uncertain.map((r) => `line ${r.line_number}`).join(', ')} may match this connection${matched ? ` before line ${matched.line_number}` : ''} (host names and samenet need the server's own name lookups), so the server may have used ${uncertain.length > 1 ? 'one of them' : 'it'}`,
    details: { lines: uncertain.map((r) => r.line_number) },
  };
}

export function otherTrustNetwork(r: HbaFileRule, hbaFile: HbaFiles): Finding {
  return {
    code: 'other-trust-network', status: 'error',
    object: objectOf(r, hbaFile),
    message: `line ${r.line_number} "${oneLine(r)}" trusts a network address: anyone who reaches the server from ${ruleAddress(r)} logs in as ${whoText(r)} without a password`,
    details: { line: r.line_number, rule: ruleToLine(r) },
    remediation: [replaceLineStep(r, hbaFile, 'scram-sha-256'), RELOAD],
  };
}

export function md5PasswordStored(ctx: CheckContext, login: Login, stored: string): Finding {
  return {
    code: 'md5-password-stored', status: 'warning',
    object: login.user,
    message: `${login.user}'s password is stored as MD5, though the server now stores new passwords as SCRAM (password_encryption = scram-sha-256): it was set before that changed. A scram-sha-256 line would refuse it, and PostgreSQL 18 deprecates MD5 passwords`,
    details: { stored, passwordEncryption: 'scram-sha-256' },
    remediation: [setScramPasswordStep(ctx.target, login.user, 'Store it again')],
  };
}

export function unreachableRule(rule: HbaFileRule, by: HbaFileRule, hbaFile: HbaFiles): Finding {
  const w = whereIs(rule, hbaFile);
  return {
    code: 'unreachable-rule', status: 'info',
    object: objectOf(rule, hbaFile),
    message: `${w.label} "${oneLine(rule)}" can never match: line ${by.line_number} "${oneLine(by)}" above it catches every connection it would (the first matching line decides)`,
    details: { line: rule.line_number, shadowedBy: by.line_number },
    remediation: [
      { kind: 'config', title: `Move it above line ${by.line_number} (delete it at line ${rule.line_number}, insert this above line ${by.line_number}), or delete it`, text: ruleToLine(rule) },
      RELOAD,
    ],
  };
}
