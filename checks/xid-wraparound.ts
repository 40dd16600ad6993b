import { notOwnSession } from '../src/own-sessions.js';
import { defineCheck } from '../src/define-check.js';
import { clientFlags } from '../src/remediation/client-flags.js';
import { quoteLiteral, quoteQualified, shellQuote } from '../src/quote.js';
import { groupDigits } from '../src/units.js';
import type { CheckContext, Finding, Remediation, Status } from '../src/types.js';

/**
 * The age at which PostgreSQL stops assigning transaction IDs: half the 32-bit space
 * (xidWrapLimit = oldest datfrozenxid + 2^31 - 1) less the 3 million it keeps in reserve
 * (varsup.c, SetTransactionIdLimit; 1 million in older releases). It warns from 40 million before.
 */
const WRAP_AGE = 2 ** 31 - 1;
const STOP_AGE = WRAP_AGE - 3_000_000;

// One round trip: every database's age, this database's oldest tables (a table's TOAST table is
// vacuumed with it, so the older of the two counts), and whatever keeps VACUUM from freezing past
// a point: running transactions (backend_xid/backend_xmin are shown to every role), prepared
// transactions and replication slots. Autovacuum workers and other background processes also
// hold an xmin while they work; they are not what to end.
const WRAPAROUND_SQL = `
WITH tables AS (
  SELECT n.nspname AS schema, c.relname AS name, c.relpersistence = 't' AS temporary,
         greatest(age(c.relfrozenxid), CASE WHEN t.oid IS NOT NULL THEN age(t.relfrozenxid) END) AS age
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
   WHERE c.relkind IN ('r', 'm')
)
SELECT
  (SELECT json_agg(d ORDER BY d.age DESC, d.name) FROM (
     SELECT datname AS name, age(datfrozenxid) AS age, datallowconn AS allow_connections,
            datname = current_database() AS current
       FROM pg_database) d) AS databases,
  (SELECT coalesce(json_agg(t ORDER BY t.age DESC, t.schema, t.name), '[]') FROM (
     SELECT * FROM tables ORDER BY age DESC, schema, name LIMIT $1) t) AS tables,
  (SELECT count(*) FROM tables WHERE age >= $2) AS tables_over,
  (SELECT coalesce(json_agg(h ORDER BY h.age DESC), '[]') FROM (
     SELECT 'transaction' AS kind, pid::text AS name, usename::text AS owner, datname::text AS database,
            application_name AS application, state, xact_start::text AS since,
            greatest(age(backend_xid), age(backend_xmin)) AS age
       FROM pg_stat_activity
      WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) AND ${notOwnSession()}
        -- backend_type is hidden (NULL) in other roles' sessions unless we may see them.
        AND (backend_type IS NULL OR backend_type = 'client backend')
     UNION ALL
     SELECT 'prepared', gid, owner::text, database::text, NULL, NULL, prepared::text, age(transaction)
       FROM pg_prepared_xacts
     UNION ALL
     SELECT 'slot', slot_name::text, NULL, database::text, slot_type, CASE WHEN active THEN 'active' ELSE 'inactive' END, NULL,
            greatest(age(xmin), age(catalog_xmin))
       FROM pg_replication_slots
      WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
     ORDER BY 8 DESC LIMIT 10) h) AS holders`;

interface DatabaseAge {
  name: string;
  age: number;
  allow_connections: boolean;
  current: boolean;
}

interface TableAge {
  schema: string;
  name: string;
  temporary: boolean;
  age: number;
}

interface Holder {
  kind: 'transaction' | 'prepared' | 'slot';
  name: string;
  owner: string | null;
  database: string | null;
  application: string | null;
  state: string | null;
  since: string | null;
  age: number;
}

function millions(n: number): string {
  if (n >= 100_000_000) return `${groupDigits(Math.round(n / 1_000_000))} million`;
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, '')} million`;
  return groupDigits(n);
}

function levelOf(age: number, warningAge: number, errorAge: number, freezeMaxAge: number): Status {
  if (age >= errorAge) return 'error';
  if (age >= warningAge) return 'warning';
  if (age >= freezeMaxAge) return 'info';
  return 'ok';
}

function holderText(h: Holder): string {
  switch (h.kind) {
    case 'transaction':
      // Another role's session shows its user, database and application but not its state.
      return `the transaction of backend ${h.name} (user ${h.owner ?? '?'}, database ${h.database ?? '?'}${h.application ? `, application "${h.application}"` : ''}, ${h.state ? `${h.state}, since ${h.since}` : 'state hidden from this role'}), ${millions(h.age)} transactions old`;
    case 'prepared':
      return `the prepared transaction '${h.name}' (owner ${h.owner}, database ${h.database}, prepared ${h.since}), ${millions(h.age)} transactions old`;
    case 'slot':
      return `the ${h.state} ${h.application} replication slot "${h.name}", whose xmin is ${millions(h.age)} transactions old`;
  }
}

function holderStep(h: Holder): Remediation {
  switch (h.kind) {
    case 'transaction':
      return {
        kind: 'sql',
        title: `as a superuser or ${h.owner ?? 'its user'}: end backend ${h.name} (its client gets an error; a session "idle in transaction" is usually a forgotten one, and idle_in_transaction_session_timeout ends such sessions on its own)`,
        text: `SELECT pg_terminate_backend(${Number(h.name)});`,
      };
    case 'prepared':
      return {
        kind: 'sql',
        title: `connected to database ${h.database}, as ${h.owner} or a superuser: roll back the forgotten prepared transaction (its changes are lost; if a transaction manager still owns it, let that finish it instead)`,
        text: `ROLLBACK PREPARED ${quoteLiteral(h.name)};`,
      };
    case 'slot':
      return {
        kind: 'sql',
        title: `drop replication slot ${h.name}, only once its consumer (a standby or a logical subscriber) is gone for good: it has to be rebuilt afterwards`,
        text: `SELECT pg_drop_replication_slot(${quoteLiteral(h.name)});`,
      };
  }
}

function vacuumSteps(ctx: CheckContext, db: DatabaseAge, tables: TableAge[], tablesOver: number, threshold: number): Remediation[] {
  if (!db.allow_connections) {
    return [
      {
        kind: 'text',
        text: `${db.name} does not accept connections (datallowconn = false): autovacuum freezes it on its own once it passes autovacuum_freeze_max_age. If its age keeps growing, what holds the horizon back (above) is the reason.`,
      },
    ];
  }
  if (!db.current) {
    return [
      {
        kind: 'shell',
        title: `freeze every table of database ${db.name} (as its owner or a superuser; reads the whole database)`,
        text: `vacuumdb ${clientFlags(ctx.target)} --freeze --verbose --dbname=${shellQuote(db.name)}`,
      },
    ];
  }
  const over = tables.filter((t) => t.age >= threshold && !t.temporary);
  if (tablesOver > over.length || over.length === 0) {
    return [{ kind: 'sql', title: `in database ${db.name}, as a superuser: freeze every table (${tablesOver} are over the threshold; reads the whole database)`, text: 'VACUUM (FREEZE, VERBOSE);' }];
  }
  return over.map((t) => ({
    kind: 'sql' as const,
    title: `in database ${db.name}, as the table's owner or a superuser: ${millions(t.age)} transactions old`,
    text: `VACUUM (FREEZE, VERBOSE) ${quoteQualified(t.schema, t.name)};`,
  }));
}

export default defineCheck({
  id: 'xid-wraparound',
  title: 'Transaction ID wraparound is far away',
  description: 'age(datfrozenxid) of every database and this database\'s oldest tables against autovacuum_freeze_max_age and the point where PostgreSQL stops accepting writes.',
  docs: `PostgreSQL transaction IDs are 32 bits. Rows must be "frozen" by VACUUM before their
transaction ID is 2^31 transactions old; autovacuum starts an aggressive freeze when a table
passes autovacuum_freeze_max_age (default 200 million). If freezing cannot keep up, the server
warns from 40 million before the limit and stops assigning transaction IDs about 3 million
before it (10 and 1 million in older releases): no INSERT, UPDATE or DELETE until a VACUUM has
run, which for a homeserver means an outage at the worst moment.
This check reads age(datfrozenxid) of every database and age(relfrozenxid) of this database's
oldest tables (top_tables). Thresholds follow check_postgres's txn_wraparound action
(bucardo/check_postgres, check_postgres.pl, sub check_txn_wraparound: default_warning
1_300_000_000, default_critical 1_400_000_000, compared with age(datfrozenxid)): warning from
warning_age, error from error_age, info above autovacuum_freeze_max_age.
VACUUM cannot freeze past the oldest transaction still running, a prepared transaction nobody
committed, or a replication slot's xmin/catalog_xmin; the check names those (from
pg_stat_activity, pg_prepared_xacts, pg_replication_slots) when they are older than the lower of
warning_age and autovacuum_freeze_max_age: a database can get no younger than they are.
Fix: remove what holds the horizon back first (pg_terminate_backend, ROLLBACK PREPARED,
pg_drop_replication_slot, each with its caveat), then VACUUM (FREEZE, VERBOSE) the oldest
tables, or the whole database (vacuumdb --freeze for another database).`,
  params: {
    warning_age: { type: 'integer', default: 1_300_000_000, description: 'age(datfrozenxid) from which a database is a warning (check_postgres default_warning)' },
    error_age: { type: 'integer', default: 1_400_000_000, description: 'age from which it is an error (check_postgres default_critical)' },
    top_tables: { type: 'integer', default: 10, description: "how many of this database's oldest tables to list" },
  },
  codes: {
    'age-ok': { status: 'ok', summary: 'The oldest database is under autovacuum_freeze_max_age.' },
    'horizon-held': { status: 'warning', otherStatuses: ['info'], summary: 'A transaction, prepared transaction or slot holds the freeze horizon back (info when younger).', remediation: ['sql'] },
    'database-old': { status: 'error', otherStatuses: ['warning', 'info'], summary: 'A database is near transaction ID wraparound (warning or info at lower ages).', remediation: ['sql', 'shell', 'text'] },
  },
  async run(ctx) {
    const warningAge = Number(ctx.params.warning_age);
    const errorAge = Number(ctx.params.error_age);
    const topTables = Math.max(1, Number(ctx.params.top_tables));
    const freezeMaxAge = Number(ctx.facts.settings.get('autovacuum_freeze_max_age')?.setting ?? 200_000_000);
    const firstLevel = Math.min(warningAge, freezeMaxAge);
    const [row] = await ctx.query<{ databases: DatabaseAge[]; tables: TableAge[]; tables_over: string; holders: Holder[] }>(WRAPAROUND_SQL, [topTables, firstLevel]);
    const databases = row!.databases.map((d) => ({ ...d, age: Number(d.age) }));
    const tables = row!.tables.map((t) => ({ ...t, age: Number(t.age) }));
    const tablesOver = Number(row!.tables_over);
    const holders = row!.holders.map((h) => ({ ...h, age: Number(h.age) }));
    const oldest = databases[0]!;
    const details = {
      autovacuumFreezeMaxAge: freezeMaxAge,
      warningAge,
      errorAge,
      stopAge: STOP_AGE,
      databases: databases.map((d) => ({ name: d.name, age: d.age })),
      oldestTables: tables.map((t) => ({ table: `${t.schema}.${t.name}`, age: t.age })),
      ...(holders.length ? { oldestHolder: holderText(holders[0]!) } : {}),
    };

    const flagged = databases.map((d) => ({ d, level: levelOf(d.age, warningAge, errorAge, freezeMaxAge) })).filter((x) => x.level !== 'ok');
    if (flagged.length === 0) {
      return {
        code: 'age-ok', status: 'ok',
        message: `the oldest database, ${oldest.name}, is ${millions(oldest.age)} transactions old: under autovacuum_freeze_max_age (${millions(freezeMaxAge)}), and ${millions(STOP_AGE - oldest.age)} from the point where writes stop`,
        details,
      };
    }

    const findings: Finding[] = [];
    // What keeps VACUUM from freezing past it: after a VACUUM FREEZE a database can be no younger
    // than these, so they go first.
    const blocking = holders.filter((h) => h.age >= firstLevel);
    for (const h of blocking) {
      findings.push({
        code: 'horizon-held', status: h.age >= warningAge ? 'warning' : 'info',
        object: h.kind === 'transaction' ? `backend ${h.name}` : h.name,
        message: `${holderText(h)}: VACUUM cannot freeze anything newer, in any database, until it is gone`,
        details: { ...h },
        remediation: [holderStep(h)],
      });
    }
    for (const { d, level } of flagged) {
      const left = STOP_AGE - d.age;
      const where =
        level === 'info'
          ? `past autovacuum_freeze_max_age (${millions(freezeMaxAge)}), so autovacuum should be freezing it now`
          : `at or over the ${level} threshold (${millions(level === 'error' ? errorAge : warningAge)})`;
      const oldTables = d.current ? tables.filter((t) => t.age >= firstLevel) : [];
      findings.push({
        code: 'database-old', status: level,
        object: d.name,
        message:
          `database ${d.name} is ${millions(d.age)} transactions old, ${where}; PostgreSQL stops accepting writes ${left > 0 ? `in ${millions(left)} transactions` : 'now'}` +
          (oldTables.length ? `. Oldest tables: ${oldTables.slice(0, 5).map((t) => `${t.schema}.${t.name} (${millions(t.age)})`).join(', ')}${tablesOver > 5 ? ` (${tablesOver} over ${millions(firstLevel)})` : ''}` : '') +
          (oldTables.some((t) => t.temporary) ? '; temporary tables belong to another session and are frozen only when it ends' : ''),
        details: { ...details, age: d.age },
        remediation: level === 'info' && blocking.length === 0 ? [] : vacuumSteps(ctx, d, tables, tablesOver, firstLevel),
      });
    }
    return findings;
  },
});
