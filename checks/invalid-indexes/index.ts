import { defineCheck } from '../../src/define-check.js';
import { optionalTableJson, parseOptionalTable } from '../../src/optional-table.js';
import { quoteQualified } from '../../src/quote.js';
import { updatesBuildingIndex } from './background-index-updates.js';
import type { CheckContext, Finding, Remediation } from '../../src/types.js';

interface InvalidIndex {
  schema: string;
  index_name: string;
  table_schema: string;
  table_name: string;
  is_ready: boolean;
  is_unique: boolean;
  definition: string;
  /** Each key column or expression as pg_get_indexdef prints it (INCLUDE columns left out). */
  keys: string[];
  predicate: string | null;
  nulls_not_distinct: boolean;
  /** pid of a session building it right now, if one is visible. */
  builder: number | null;
}

interface Row extends Record<string, unknown> {
  invalid: InvalidIndex[] | null;
  updates: unknown;
}

/**
 * One statement for every major: INCLUDE columns (indnkeyatts) came in 11, the build progress view
 * in 12, NULLS NOT DISTINCT in 15. Before 12 a running CREATE INDEX CONCURRENTLY is recognised by
 * its session's lock on the table and its query text (visible for one's own sessions only).
 */
function invalidIndexesSql(major: number, isSynapse: boolean): string {
  const nkeys = major >= 11 ? 'i.indnkeyatts' : 'i.indnatts';
  const nullsNotDistinct = major >= 15 ? 'i.indnullsnotdistinct' : 'false';
  const builder =
    major >= 12
      ? `(SELECT p.pid FROM pg_stat_progress_create_index p
           WHERE p.index_relid = i.indexrelid OR (p.relid = i.indrelid AND p.command = 'REINDEX CONCURRENTLY') LIMIT 1)`
      : `(SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'relation' AND l.relation = i.indrelid AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted
             AND a.query ~* 'create[[:space:]]+(unique[[:space:]]+)?index[[:space:]]+concurrently' LIMIT 1)`;
  const updates = isSynapse
    ? optionalTableJson('background_updates', `SELECT json_agg(json_build_object('name', update_name, 'progress', progress_json)) FROM background_updates`)
    : 'NULL';
  return `
WITH invalid AS (
  SELECT n.nspname AS schema, c.relname AS index_name, tn.nspname AS table_schema, t.relname AS table_name,
         i.indisready AS is_ready, i.indisunique AS is_unique,
         pg_get_indexdef(i.indexrelid) AS definition,
         ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, ${nkeys}) AS k ORDER BY k) AS keys,
         pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
         ${nullsNotDistinct} AS nulls_not_distinct,
         ${builder} AS builder
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
   WHERE (NOT i.indisvalid OR NOT i.indisready) AND c.relkind = 'i'
)
SELECT (SELECT json_agg(invalid ORDER BY schema, index_name) FROM invalid) AS invalid,
       CASE WHEN EXISTS (SELECT 1 FROM invalid) THEN ${updates} END AS updates`;
}

/** The rows a unique build tripped over: NULL keys never collide unless NULLS NOT DISTINCT. */
function duplicatesQuery(ix: InvalidIndex): string {
  const keys = ix.keys.map((k) => `(${k})`);
  const where = [...(ix.nulls_not_distinct ? [] : keys.map((k) => `${k} IS NOT NULL`)), ...(ix.predicate ? [`(${ix.predicate})`] : [])];
  return [
    `SELECT ${keys.join(', ')}, count(*) AS copies`,
    `  FROM ${quoteQualified(ix.table_schema, ix.table_name)}`,
    ...(where.length ? [` WHERE ${where.join(' AND ')}`] : []),
    ` GROUP BY ${keys.join(', ')}`,
    `HAVING count(*) > 1`,
    ` ORDER BY copies DESC, ${keys.join(', ')};`,
  ].join('\n');
}

/** pg_get_indexdef prints plain CREATE [UNIQUE] INDEX name ON ...; the rebuild must not block writes. */
function createConcurrently(definition: string): string {
  return `${definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ')};`;
}

const ONE_AT_A_TIME: Remediation = {
  kind: 'text',
  text: 'Run each statement on its own, outside BEGIN/COMMIT (CONCURRENTLY refuses to run in a transaction block; psql -c with several statements is one). A CONCURRENTLY build that fails leaves an invalid index again: run pg-preflight again afterwards.',
};

function manualFix(ix: InvalidIndex, major: number): Remediation[] {
  const name = quoteQualified(ix.schema, ix.index_name);
  const leftover = /_cc(new|old)\d*$/.exec(ix.index_name);
  if (major >= 12 && leftover) {
    return [
      {
        kind: 'sql',
        title:
          leftover[1] === 'new'
            ? 'A copy left by an interrupted REINDEX CONCURRENTLY; the original index is still in place: drop the copy (then REINDEX again if the original needed it)'
            : 'The old index that an interrupted REINDEX CONCURRENTLY could not drop after swapping in the new one: drop it',
        text: `DROP INDEX CONCURRENTLY ${name};`,
      },
      ONE_AT_A_TIME,
    ];
  }
  const steps: Remediation[] = [];
  if (ix.is_unique) {
    steps.push({
      kind: 'sql',
      title: 'First list the duplicate keys a unique build fails on, and delete or merge those rows (keep one per key)',
      text: duplicatesQuery(ix),
    });
  }
  if (major >= 12) {
    steps.push({ kind: 'sql', title: 'Rebuild the index without blocking writes', text: `REINDEX INDEX CONCURRENTLY ${name};` });
  } else {
    steps.push(
      { kind: 'sql', title: `Drop the invalid index without blocking writes (REINDEX CONCURRENTLY needs PostgreSQL 12)`, text: `DROP INDEX CONCURRENTLY ${name};` },
      { kind: 'sql', title: 'Then create it again, as its definition says', text: createConcurrently(ix.definition) },
    );
  }
  steps.push(ONE_AT_A_TIME);
  return steps;
}

function finding(ctx: CheckContext, ix: InvalidIndex, updates: { name: string; progress: string }[] | undefined): Finding {
  const object = `${ix.schema}.${ix.index_name}`;
  const details = { table: `${ix.table_schema}.${ix.table_name}`, definition: ix.definition, ready: ix.is_ready, unique: ix.is_unique };
  if (ix.builder !== null) {
    return {
      code: 'index-building', status: 'info',
      object,
      message: `index ${object} is being built right now (session ${ix.builder}); it stays invalid until the build finishes: ${ix.definition}`,
      details: { ...details, builder: ix.builder },
    };
  }
  const rebuilding = updates ? updatesBuildingIndex(ix.index_name, updates) : [];
  if (rebuilding.length > 0) {
    return {
      code: 'rebuild-pending', status: 'info',
      object,
      message: `index ${object} is invalid, and Synapse's pending background update ${rebuilding.map((u) => `"${u}"`).join(', ')} drops and rebuilds it after Synapse starts: nothing to do by hand`,
      details: { ...details, backgroundUpdates: rebuilding },
    };
  }
  const cost = !ix.is_ready
    ? 'it is not even maintained on writes (the build failed early), and queries cannot use it'
    : `queries cannot use it, yet every write still maintains it${ix.is_unique ? ' and is refused if it would duplicate a key' : ''}`;
  return {
    code: 'invalid-index', status: 'error',
    object,
    message: `index ${object} on ${ix.table_schema}.${ix.table_name} is invalid (left by a failed or interrupted concurrent build): ${cost}. Definition: ${ix.definition}`,
    details,
    remediation: manualFix(ix, ctx.facts.major),
  };
}

export default defineCheck({
  id: 'invalid-indexes',
  title: 'No invalid indexes',
  description: 'Indexes left invalid (pg_index.indisvalid or indisready false) by a failed or interrupted concurrent build.',
  docs: `Reads pg_index for indexes with indisvalid = false or indisready = false. CREATE INDEX
CONCURRENTLY and REINDEX CONCURRENTLY leave such an index behind when they fail (a duplicate key
in a unique index, a cancelled statement, a lost connection): the planner ignores it, yet once
the build got past its first phase (indisready) writes keep maintaining it, and such a unique
index still refuses duplicates. Synapse builds many
indexes concurrently in background updates.
An index being built right now (pg_stat_progress_create_index from PostgreSQL 12, else a session
holding the build's lock) is reported as info. In a Synapse database, an index that a pending
row of background_updates will rebuild (Synapse drops a half-built index before building it
again) is info as well, with the update's name.
Fix: REINDEX INDEX CONCURRENTLY (PostgreSQL 12+); before 12, DROP INDEX CONCURRENTLY and create
it again from pg_get_indexdef with CONCURRENTLY. For a unique index, first find and remove the
duplicate keys with the printed query. Names ending in _ccnew/_ccold are copies left by an
interrupted REINDEX CONCURRENTLY: drop them. Each statement runs on its own, outside a
transaction block. Partitioned indexes (invalid until every partition's index is attached) are
not reported.`,
  codes: {
    'no-invalid-indexes': { status: 'ok', summary: 'No invalid indexes.' },
    'index-building': { status: 'info', summary: 'An index is invalid because it is being built right now.' },
    'rebuild-pending': { status: 'info', summary: 'An invalid index that a pending Synapse background update rebuilds.' },
    'invalid-index': { status: 'error', summary: 'An index left invalid by a failed or interrupted concurrent build.', remediation: ['sql', 'text'] },
  },
  async run(ctx) {
    const { facts } = ctx;
    const [row] = await ctx.query<Row>(invalidIndexesSql(facts.major, facts.isSynapse));
    const invalid = row?.invalid ?? [];
    if (invalid.length === 0) return { code: 'no-invalid-indexes', status: 'ok', message: 'no invalid indexes' };
    const table = parseOptionalTable<{ name: string; progress: string }[]>(row?.updates, []);
    const updates = table.state === 'ok' ? table.value : undefined;
    return invalid.map((ix) => finding(ctx, ix, updates));
  },
});
