// Remediation steps shared by the connection diagnosers and the auth-hba check. Every name goes
// through the quoting helpers; the password never appears (psql and createuser prompt for it).
import type { CheckTarget } from '../target-view.js';
import { quoteIdent, shellQuote } from '../quote.js';
import { clientFlags } from '../remediation/client-flags.js';
import type { Remediation } from '../types.js';

/** The seed guide's administrator: the `postgres` superuser. */
export const ADMIN_ROLE = 'postgres';

export function adminFlags(target: CheckTarget): string {
  return clientFlags(target, ADMIN_ROLE);
}

/** `\password name` takes an SQL identifier: plain lower-case names as they are, others quoted. */
function passwordArg(role: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(role) ? role : quoteIdent(role);
}

// psql and createuser hash a new password on the client with the algorithm the server's
// password_encryption names; it defaults to md5 before PostgreSQL 14, so the session sets it.
const SCRAM_ENV = "PGOPTIONS='-c password_encryption=scram-sha-256'";

export function setScramPasswordStep(target: CheckTarget, role: string, why: string): Remediation {
  return {
    kind: 'shell',
    title: `${why}: as the ${ADMIN_ROLE} superuser, store ${role}'s password as SCRAM (psql asks for it twice; type the one from database.args)`,
    text: `${SCRAM_ENV} psql ${adminFlags(target)} -d postgres -c ${shellQuote(`\\password ${passwordArg(role)}`)}`,
  };
}

export function createUserStep(target: CheckTarget, role: string, withPassword: boolean): Remediation {
  return withPassword
    ? {
        kind: 'shell',
        title: `Create the role as the seed guide does, as the ${ADMIN_ROLE} superuser (it asks for the password twice: type the one from database.args)`,
        text: `${SCRAM_ENV} createuser ${adminFlags(target)} --pwprompt ${shellQuote(role)}`,
      }
    : {
        kind: 'shell',
        title: `Create the role, as the ${ADMIN_ROLE} superuser (no password is configured, so none is set)`,
        text: `createuser ${adminFlags(target)} ${shellQuote(role)}`,
      };
}

export function createDatabaseStep(target: CheckTarget, database: string, owner: string): Remediation {
  return {
    kind: 'shell',
    title: `Create the database as the seed guide does (UTF8, C locale, owned by ${owner}), as the ${ADMIN_ROLE} superuser`,
    text: `createdb ${adminFlags(target)} --encoding=UTF8 --locale=C --template=template0 --owner=${shellQuote(owner)} ${shellQuote(database)}`,
  };
}

export const FIND_HBA_FILE: Remediation = {
  kind: 'sql',
  title: 'Find pg_hba.conf: as a superuser (e.g. sudo -u postgres psql), ask the server where it is',
  text: 'SHOW hba_file;',
};

export const RELOAD: Remediation = {
  kind: 'sql',
  title: 'Reload the server so it reads pg_hba.conf again (or: pg_ctl reload -D <data directory>, or systemctl reload postgresql); no restart is needed',
  text: 'SELECT pg_reload_conf();',
};

/** The pg_hba.conf lines plus where they go, framed by how to find the file and how to reload. */
export function hbaSteps(lines: string[], where: string, notes: Remediation[] = []): Remediation[] {
  return [
    FIND_HBA_FILE,
    { kind: 'config', title: `Add to pg_hba.conf ${where}`, text: lines.join('\n') },
    RELOAD,
    ...notes,
  ];
}
