// The seed guide's fix for a wrong encoding or locale: dump, create a UTF8 / C database,
// restore, swap names. Built with the user's real names, every one quoted for shell and SQL.
import type { CheckTarget } from '../target-view.js';
import { quoteIdent, shellQuote } from '../quote.js';
import type { Remediation } from '../types.js';
import { clientFlags } from './client-flags.js';

/**
 * `admin` creates and renames databases: the connected role when it is a superuser, else
 * `postgres`, as in the seed guide (createdb needs CREATEDB, renaming needs ownership too).
 */
export function recreateDatabaseSteps(target: CheckTarget, owner: string, admin: string): Remediation[] {
  const db = target.connection.database;
  const flags = clientFlags(target);
  const adminFlags = clientFlags(target, admin);
  const dump = shellQuote(`${db}.dump`);
  const renameSql = (from: string, to: string) => shellQuote(`ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`);
  return [
    {
      kind: 'text',
      text: 'Stop Synapse and every worker (and anything else using this database) first: writes made during the dump would be lost. Use client tools at least as new as the server.',
    },
    {
      kind: 'shell',
      title: 'Dump, recreate with UTF8 and the C locale, restore, swap the names',
      text: [
        `pg_dump ${flags} -Fc -f ${dump} ${shellQuote(db)}`,
        `createdb ${adminFlags} --encoding=UTF8 --locale=C --template=template0 --owner=${shellQuote(owner)} ${shellQuote(`${db}_new`)}`,
        `pg_restore ${flags} --exit-on-error -d ${shellQuote(`${db}_new`)} ${dump}`,
        `psql ${adminFlags} -d postgres -v ON_ERROR_STOP=1 -c ${renameSql(db, `${db}_old`)} -c ${renameSql(`${db}_new`, db)}`,
      ].join('\n'),
    },
    {
      kind: 'text',
      text: `Start Synapse again and check it works; then drop the old copy with: dropdb ${adminFlags} ${shellQuote(`${db}_old`)}. A SQL_ASCII database may hold bytes that are not valid UTF8: pg_restore then stops at the first such row, which must be corrected (or dumped with --encoding set to what the data really is) before restoring.`,
    },
  ];
}
