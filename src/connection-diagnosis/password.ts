// Password failures. PostgreSQL answers "password authentication failed" for a wrong password, for
// a role whose password is stored as MD5 under a scram-sha-256 rule, and for a role that does not
// exist (so as not to tell a stranger which roles exist); only the server log says which.
import type { DatabaseTarget } from '../config/target.js';
import type { Diagnoser } from './diagnoser.js';
import { quoteLiteral } from '../quote.js';
import type { Remediation } from '../types.js';
import { endpointText } from './endpoint.js';
import { createUserStep, hbaSteps, setScramPasswordStep } from './remediation.js';
import { targetLines } from './target-lines.js';

export function passwordSourceText(target: DatabaseTarget): string {
  switch (target.connection.passwordSource) {
    case 'config': return 'password: under database.args';
    case 'uri': return 'the --dsn';
    case 'PGPASSWORD': return 'PGPASSWORD';
    case 'pgpass': return 'the password file (~/.pgpass or passfile)';
    default: return 'the configuration';
  }
}

/** Shows whether the role exists and how its password is stored, without showing the hash. */
export function storedPasswordQuery(role: string): string {
  return [
    'SELECT rolname,',
    "       CASE WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'",
    "            WHEN rolpassword LIKE 'md5%' THEN 'md5'",
    "            WHEN rolpassword IS NULL THEN 'no password' ELSE 'other' END AS stored_as",
    `  FROM pg_authid WHERE rolname = ${quoteLiteral(role)};`,
  ].join('\n');
}

// node-pg's own words when the server asks for a password and it has none to give.
const NO_PASSWORD = /client password must be a string|empty password returned by client|no password supplied|password must be a string/i;

export const diagnosePasswordMissing: Diagnoser = (e, target) => {
  const c = target.connection;
  if (c.password !== undefined && c.password !== '') return undefined;
  if (!(e.code === '28P01' || NO_PASSWORD.test(e.message))) return undefined;
  const at = endpointText(target);
  const socketOrLoopback = targetLines(target, { method: 'trust' });
  const steps: Remediation[] = [
    {
      kind: 'config',
      title: `Give Synapse the role's password: in homeserver.yaml under database.args (pg-preflight reads it from there too)`,
      text: `database:\n  args:\n    password: "the password of ${c.user}"`,
    },
    {
      kind: 'text',
      text: `Or, for pg-preflight and psql only, a line in ~/.pgpass (mode 0600): ${c.host.startsWith('/') ? 'localhost' : c.host}:${c.port}:${c.database}:${c.user}:PASSWORD`,
    },
  ];
  if (!socketOrLoopback.remote) {
    steps.push(...hbaSteps(socketOrLoopback.lines, 'above the line that asks for a password now (the first line whose type, database, user and address match decides), if the role is meant to log in without one, as the seed guide allows for a local connection').map((s) => (s.kind === 'config' ? { ...s, title: `Or, without a password: ${s.title}` } : s)));
  }
  return {
    code: 'auth-no-password',
    message: `${at} asks for a password for user "${c.user}" (database "${c.database}") and none is configured: pg_hba.conf has a password rule (scram-sha-256, md5 or password) for this connection. Add the password under database.args`,
    remediation: steps,
  };
};

export const diagnoseWrongPassword: Diagnoser = (e, target) => {
  if (e.code !== '28P01' && !/^password authentication failed/.test(e.message)) return undefined;
  const c = target.connection;
  const at = endpointText(target);
  return {
    code: 'auth-password',
    message:
      `${at} rejected user "${c.user}" for database "${c.database}": password authentication failed. ` +
      `Either the password in ${passwordSourceText(target)} is wrong, or the role's password is stored as MD5 while pg_hba.conf asks for scram-sha-256 ` +
      `(MD5 was the default before PostgreSQL 14; PostgreSQL 18 deprecates MD5 passwords), or role "${c.user}" does not exist ` +
      '(PostgreSQL reports that as a password failure too). The server log says which',
    remediation: [
      {
        kind: 'sql',
        title: 'As a superuser: does the role exist, and how is its password stored? (no row: it does not exist)',
        text: storedPasswordQuery(c.user),
      },
      setScramPasswordStep(target, c.user, 'Wrong or MD5-stored password'),
      { ...createUserStep(target, c.user, true), title: `No such role: ${createUserStep(target, c.user, true).title}` },
      {
        kind: 'text',
        text: `The server log names the cause: 'User "${c.user}" does not have a valid SCRAM secret' (stored as MD5), 'Password does not match for user' (wrong password), 'Role "${c.user}" does not exist'.`,
      },
    ],
  };
};
