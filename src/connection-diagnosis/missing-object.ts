// A role or database that does not exist: the seed guide's createuser / createdb, with the names
// from the configuration. A role is checked at login, before the database, so a missing role may
// hide a missing database too.
import type { Diagnoser } from './diagnoser.js';
import { endpointText } from './endpoint.js';
import { createDatabaseStep, createUserStep } from './remediation.js';

export const diagnoseMissingRole: Diagnoser = (e, target) => {
  const m = /^role "(.*)" does not exist$/.exec(e.message);
  if (!m || (e.code !== undefined && e.code !== '28000')) return undefined;
  const c = target.connection;
  const withPassword = c.password !== undefined && c.password !== '';
  return {
    code: 'auth-no-role',
    message: `${endpointText(target)} has no role "${m[1]}": create it (and the database, if that is missing too), as the seed guide does`,
    remediation: [
      createUserStep(target, m[1]!, withPassword),
      { ...createDatabaseStep(target, c.database, m[1]!), title: `If database "${c.database}" does not exist either: ${createDatabaseStep(target, c.database, m[1]!).title}` },
    ],
  };
};

export const diagnoseMissingDatabase: Diagnoser = (e, target) => {
  if (e.code !== '3D000') return undefined;
  const name = /^database "(.*)" does not exist$/.exec(e.message)?.[1] ?? target.connection.database;
  const c = target.connection;
  return {
    code: 'connect-no-database',
    message: `the database "${name}" does not exist on ${endpointText(target)}: create it with UTF8 encoding and the C locale, owned by ${c.user}, as the seed guide does (or fix dbname/database under database.args if it has another name)`,
    remediation: [createDatabaseStep(target, name, c.user)],
  };
};
