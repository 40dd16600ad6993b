import { defineCheck } from '../src/define-check.js';
import { quoteIdent, quoteQualified } from '../src/quote.js';
import type { CheckContext, Finding, Remediation } from '../src/types.js';

const DEFAULT_COLLATION_OID = 100;
const PROVIDERS: Record<string, string> = { c: 'libc', i: 'ICU', b: 'builtin', d: 'database default' };
const NEVER_DRIFT = new Set(['C', 'POSIX']);
/** How many index names a message lists before "and N more". */
const NAMES_IN_MESSAGE = 10;

// One round trip. Every collation some index uses, with the version recorded when it was created
// (or last refreshed) and the one the library reports now; on 15+ the same for the database's
// default collation, which indexes reference as oid 100. The locale column moved from
// collcollate to colliculocale (15, ICU) to colllocale (17): to_jsonb reads whichever exists.
function collationSql(major: number): string {
  const keyCount = major >= 11 ? 'i.indnkeyatts' : 'i.indnatts';
  const dbVersions =
    major >= 15
      ? 'd.datcollversion AS recorded, pg_database_collation_actual_version(d.oid) AS actual'
      : 'NULL::text AS recorded, NULL::text AS actual';
  return `
WITH idx AS (
  SELECT i.indexrelid, x.coll
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid AND ic.relkind = 'i'
   CROSS JOIN LATERAL unnest(i.indcollation::oid[]) AS x(coll)
   WHERE x.coll <> 0
),
colls AS (
  SELECT c.oid, n.nspname AS schema, c.collname AS name, c.collprovider::text AS provider,
         coalesce(to_jsonb(c) ->> 'colllocale', to_jsonb(c) ->> 'colliculocale', c.collcollate) AS locale,
         c.collversion AS recorded, pg_collation_actual_version(c.oid) AS actual,
         (SELECT count(DISTINCT idx.indexrelid) FROM idx WHERE idx.coll = c.oid) AS indexes
    FROM pg_collation c
    JOIN pg_namespace n ON n.oid = c.collnamespace
   WHERE c.oid IN (SELECT coll FROM idx)
),
db AS (
  SELECT d.datname AS name, d.datcollate AS collate,
         coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') AS provider,
         coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') AS locale, ${dbVersions}
    FROM pg_database d WHERE d.datname = current_database()
),
drifted AS (
  SELECT oid FROM colls WHERE oid <> ${DEFAULT_COLLATION_OID} AND recorded IS NOT NULL AND actual IS DISTINCT FROM recorded
  UNION ALL
  SELECT ${DEFAULT_COLLATION_OID}::oid FROM db WHERE recorded IS NOT NULL AND actual IS DISTINCT FROM recorded
)
SELECT (SELECT row_to_json(db) FROM db) AS db,
       (SELECT coalesce(json_agg(colls ORDER BY schema, name), '[]') FROM colls) AS collations,
       (SELECT coalesce(json_agg(t ORDER BY t.schema, t.name), '[]') FROM (
          SELECT ns.nspname AS schema, ic.relname AS name, tn.nspname AS table_schema, tc.relname AS table_name,
                 i.indisunique AS "unique",
                 coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct,
                 array(SELECT DISTINCT idx.coll FROM idx WHERE idx.indexrelid = i.indexrelid
                        AND idx.coll IN (SELECT oid FROM drifted)) AS collations,
                 array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, ${keyCount}::int) AS k ORDER BY k) AS keys,
                 pg_get_expr(i.indpred, i.indrelid, true) AS predicate
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_namespace ns ON ns.oid = ic.relnamespace
            JOIN pg_class tc ON tc.oid = i.indrelid
            JOIN pg_namespace tn ON tn.oid = tc.relnamespace
           WHERE i.indexrelid IN (SELECT indexrelid FROM idx WHERE coll IN (SELECT oid FROM drifted))
       ) t) AS indexes`;
}

interface CollationRow {
  oid: number;
  schema: string;
  name: string;
  provider: string;
  locale: string | null;
  recorded: string | null;
  actual: string | null;
  indexes: number;
}

interface IndexRow {
  schema: string;
  name: string;
  table_schema: string;
  table_name: string;
  unique: boolean;
  /** UNIQUE NULLS NOT DISTINCT (15+): NULL keys collide too. */
  nulls_not_distinct: boolean;
  collations: number[];
  keys: string[];
  predicate: string | null;
}

interface DbRow {
  name: string;
  collate: string;
  /** datlocprovider (15+): c, i or b. */
  provider: string;
  /** The ICU or builtin locale (15+), when the provider is not libc. */
  locale: string | null;
  recorded: string | null;
  actual: string | null;
}

/** The name REINDEX CONCURRENTLY gives its new copy: "<index>_ccnew", cut to NAMEDATALEN - 1 bytes. */
function ccnewName(index: string): string {
  let base = index;
  while (Buffer.byteLength(base) + '_ccnew'.length > 63) base = base.slice(0, -1);
  return `${base}_ccnew`;
}

function isSystemSchema(schema: string): boolean {
  return schema === 'pg_catalog' || schema === 'pg_toast' || schema === 'information_schema';
}

function reindexStep(ix: IndexRow, major: number): Remediation {
  const name = quoteQualified(ix.schema, ix.name);
  // CONCURRENTLY came in 12 and never applies to system catalogs.
  if (major >= 12 && !isSystemSchema(ix.schema)) {
    return { kind: 'sql', title: `rebuild ${ix.schema}.${ix.name} without blocking writes (outside a transaction block)`, text: `REINDEX INDEX CONCURRENTLY ${name};` };
  }
  return {
    kind: 'sql',
    title: `rebuild ${ix.schema}.${ix.name} (blocks writes to ${ix.table_schema}.${ix.table_name} while it runs${major < 12 ? '; PostgreSQL 11 and older have no REINDEX CONCURRENTLY' : ''})`,
    text: `REINDEX INDEX ${name};`,
  };
}

/** What to run when a REINDEX of a unique index fails on duplicates: they exist already. */
function duplicateSteps(ix: IndexRow, major: number): Remediation[] {
  const groupBy = ix.keys.map((_, i) => String(i + 1)).join(', ');
  // A unique index lets any number of rows with a NULL key in (unless NULLS NOT DISTINCT), and
  // GROUP BY would lump them together: only keys without NULLs can be duplicates.
  const conditions = [...(ix.predicate ? [`(${ix.predicate})`] : []), ...(ix.nulls_not_distinct ? [] : ix.keys.map((k) => `(${k}) IS NOT NULL`))];
  const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  const steps: Remediation[] = [
    {
      kind: 'sql',
      title: `only if the REINDEX of ${ix.schema}.${ix.name} fails with a duplicate key error: corruption already happened (the index let rows in that collide under the new ordering). This lists the duplicated keys and where their rows are; with the application stopped, keep one row of each and delete the others by hand, by ctid (DELETE FROM ${quoteQualified(ix.table_schema, ix.table_name)} WHERE ctid = '(0,3)'), since lookups through the damaged index miss rows (the query reads the table with TABLESAMPLE SYSTEM (100) to stay off it). Then run that REINDEX again`,
      // TABLESAMPLE SYSTEM (100) reads every page and can never be planned as an index scan,
      // which would go through the damaged index and miss exactly the rows we look for.
      text: `SELECT ${ix.keys.join(', ')}, count(*) AS copies, array_agg(ctid) AS ctids FROM ${quoteQualified(ix.table_schema, ix.table_name)} TABLESAMPLE SYSTEM (100)${where} GROUP BY ${groupBy} HAVING count(*) > 1;`,
    },
  ];
  if (major >= 12 && !isSystemSchema(ix.schema)) {
    steps.push({
      kind: 'sql',
      title: `a failed REINDEX CONCURRENTLY leaves an invalid copy behind; drop it before trying again (does nothing when there is none)`,
      text: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(ix.schema, ccnewName(ix.name))};`,
    });
  }
  return steps;
}

function listNames(indexes: IndexRow[]): string {
  const names = indexes.map((ix) => `${ix.schema}.${ix.name}`);
  return names.length <= NAMES_IN_MESSAGE ? names.join(', ') : `${names.slice(0, NAMES_IN_MESSAGE).join(', ')} and ${names.length - NAMES_IN_MESSAGE} more`;
}

function describeCollation(c: CollationRow): string {
  const provider = PROVIDERS[c.provider] ?? c.provider;
  return `collation ${c.schema}.${c.name} (${provider}${c.locale ? `, ${c.locale}` : ''})`;
}

function driftFinding(
  ctx: CheckContext,
  what: string,
  object: string,
  recorded: string,
  actual: string | null,
  indexes: IndexRow[],
  alreadyRebuilt: Set<string>,
  refresh: Remediation,
): Finding {
  const major = ctx.facts.major;
  const now = actual === null ? 'the library reports no version now' : `the library now provides ${actual}`;
  const todo = indexes.filter((ix) => !alreadyRebuilt.has(`${ix.schema}.${ix.name}`));
  for (const ix of todo) alreadyRebuilt.add(`${ix.schema}.${ix.name}`);
  const remediation: Remediation[] = [
    ...todo.map((ix) => reindexStep(ix, major)),
    ...todo.filter((ix) => ix.unique).flatMap((ix) => duplicateSteps(ix, major)),
    refresh,
  ];
  return {
    code: 'collation-version-changed', status: 'warning',
    object,
    message:
      indexes.length > 0
        ? `${what} was recorded at version ${recorded}, ${now}: its sort order may have changed under ${indexes.length === 1 ? 'the index' : `${indexes.length} indexes`} ${listNames(indexes)}, which can then miss rows and let duplicates in until rebuilt`
        : `${what} was recorded at version ${recorded}, ${now}; no index uses it, so recording the new version is enough`,
    details: { recorded, actual, indexes: indexes.map((ix) => `${ix.schema}.${ix.name}`) },
    remediation,
  };
}

export default defineCheck({
  id: 'collation-version',
  title: 'Collation versions match the library',
  description: 'Collations used by indexes (and, from PostgreSQL 15, the database default) whose recorded version differs from what the C library or ICU now provides.',
  docs: `Text indexes are sorted by a collation, and the collation's rules come from the C library
(glibc) or ICU. When that library is upgraded under the database (an OS upgrade, a new
container image, a replica on another release), the rules can change, and indexes built under
the old ones are then out of order: lookups miss rows and unique indexes let duplicates in.
PostgreSQL records each collation's version (pg_collation.collversion; ICU from 10, glibc
from 13) and, from 15, the database default's (pg_database.datcollversion). This check compares
them with what the library reports now (pg_collation_actual_version,
pg_database_collation_actual_version) for every collation an index uses (pg_index.indcollation)
and names the affected indexes. C and POSIX have no version and never change: one more reason
Synapse wants its database in C. Before 15, the default collation's version is not recorded;
with a default other than C that part is reported as skipped.
Fix, for each affected index: REINDEX INDEX CONCURRENTLY (12+; plain REINDEX INDEX before,
which blocks writes), one statement at a time, outside a transaction block. Then record the
new version: ALTER COLLATION ... REFRESH VERSION, or ALTER DATABASE ... REFRESH COLLATION
VERSION (15+). As the Synapse guide warns, a duplicate key error during REINDEX means corruption
already happened: the printed query lists the duplicated keys, which must be removed by hand
before the REINDEX can succeed. Each database has its own indexes: check every database on the
server.`,
  codes: {
    'collation-versions-match': { status: 'ok', summary: 'Every versioned collation used by indexes matches the library.' },
    'default-unrecorded': { status: 'skipped', summary: 'The server does not record the version of the database\'s default collation.' },
    'collation-version-changed': { status: 'warning', summary: 'A collation\'s recorded version differs from the library\'s: indexes using it may be out of order.', remediation: ['sql'] },
  },
  async run(ctx) {
    const { facts } = ctx;
    const [row] = await ctx.query<{ db: DbRow; collations: CollationRow[]; indexes: IndexRow[] }>(collationSql(facts.major));
    const db = row!.db;
    const collations = row!.collations;
    const indexes = row!.indexes;
    const findings: Finding[] = [];
    const rebuilt = new Set<string>();
    const usingColl = (oid: number) => indexes.filter((ix) => ix.collations.map(Number).includes(oid));

    const defaultName = db.provider === 'c' ? db.collate : `${PROVIDERS[db.provider] ?? db.provider} ${db.locale ?? db.collate}`;
    if (db.recorded !== null && db.actual !== db.recorded) {
      findings.push(
        driftFinding(ctx, `the default collation of database ${db.name} (${defaultName})`, db.name, db.recorded, db.actual, usingColl(DEFAULT_COLLATION_OID), rebuilt, {
          kind: 'sql',
          title: 'after every REINDEX above succeeded: record the version the library provides now (as the database owner)',
          text: `ALTER DATABASE ${quoteIdent(db.name)} REFRESH COLLATION VERSION;`,
        }),
      );
    }
    for (const c of collations) {
      if (Number(c.oid) === DEFAULT_COLLATION_OID || c.recorded === null || c.actual === c.recorded) continue;
      findings.push(
        driftFinding(ctx, describeCollation(c), `${c.schema}.${c.name}`, c.recorded, c.actual, usingColl(Number(c.oid)), rebuilt, {
          kind: 'sql',
          title: `after every REINDEX above succeeded: record the version the library provides now (as the collation's owner${c.schema === 'pg_catalog' ? ', a superuser for pg_catalog' : ''})`,
          text: `ALTER COLLATION ${quoteQualified(c.schema, c.name)} REFRESH VERSION;`,
        }),
      );
    }

    const defaultColl = collations.find((c) => Number(c.oid) === DEFAULT_COLLATION_OID);
    // The builtin provider's C locale (17+) is the same code-point order as libc's C.
    const defaultIsC = (db.provider === 'c' && NEVER_DRIFT.has(db.collate)) || (db.provider === 'b' && db.locale === 'C');
    const checked = collations.filter((c) => Number(c.oid) !== DEFAULT_COLLATION_OID);
    const details = {
      defaultCollation: defaultName,
      ...(facts.major >= 15 ? { defaultRecorded: db.recorded, defaultActual: db.actual } : {}),
      collations: checked.map((c) => ({ name: `${c.schema}.${c.name}`, provider: PROVIDERS[c.provider] ?? c.provider, recorded: c.recorded, actual: c.actual, indexes: Number(c.indexes) })),
    };
    if (findings.length > 0) {
      for (const f of findings) f.details = { ...f.details, ...details };
      return findings;
    }
    if (facts.major < 15 && !defaultIsC && defaultColl && Number(defaultColl.indexes) > 0) {
      return {
        code: 'default-unrecorded', status: 'skipped',
        message: `PostgreSQL ${facts.major} does not record the version of the database's default collation (${defaultName}), so a library change under the ${defaultColl.indexes} indexes that use it cannot be seen (it can from 15; a default of C never changes). ${checked.length ? `The ${checked.length} other collation(s) indexes use match the library.` : ''}`.trim(),
        details,
      };
    }
    const defaultText = defaultIsC
      ? `the default collation is ${defaultName}, which has no version and never changes (one more reason Synapse wants C)`
      : db.recorded !== null
        ? `the default collation ${defaultName} is at version ${db.recorded}, as the library provides`
        : `the default collation ${defaultName} has no recorded version`;
    const versioned = checked.filter((c) => c.recorded !== null);
    return {
      code: 'collation-versions-match', status: 'ok',
      message: `${versioned.length ? `${versioned.length} versioned collation(s) used by indexes match the library` : 'no index uses a versioned collation'}; ${defaultText}`,
      details,
    };
  },
});
