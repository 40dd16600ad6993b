import { defineCheck } from '../src/define-check.js';
import { recreateDatabaseSteps } from '../src/remediation/recreate-database.js';

export default defineCheck({
  id: 'database-encoding',
  title: 'Database encoding is UTF8',
  description: 'SHOW server_encoding must say UTF8, exactly as Synapse requires; nothing overrides this.',
  docs: `Synapse runs SHOW SERVER_ENCODING at every start and refuses anything but UTF8
("Database has incorrect encoding: '<x>' instead of 'UTF8'"). allow_unsafe_locale does not
apply to the encoding. A database in SQL_ASCII or LATIN1 cannot store every Matrix string.
An encoding cannot be changed in place: dump the database, create a new one with
createdb --encoding=UTF8 --locale=C --template=template0 --owner=<owner>, restore into it and
swap the names. The remediation prints those commands with your database, owner and host.`,
  codes: {
    'utf8': { status: 'ok', summary: 'The database encoding is UTF8.' },
    'not-utf8': { status: 'error', summary: 'The database uses another encoding than UTF8: Synapse refuses to start.', remediation: ['text', 'shell'] },
  },
  async run({ facts, target }) {
    if (facts.encoding === 'UTF8') {
      return { code: 'utf8', status: 'ok', message: 'the database encoding is UTF8', details: { encoding: facts.encoding } };
    }
    return {
      code: 'not-utf8', status: 'error',
      message: `the database "${facts.database}" uses encoding ${facts.encoding}, not UTF8: Synapse refuses to start ("Database has incorrect encoding"), and no setting overrides that`,
      object: facts.database,
      details: { encoding: facts.encoding },
      remediation: recreateDatabaseSteps(target, facts.owner, facts.isSuperuser ? facts.user : 'postgres'),
    };
  },
});
