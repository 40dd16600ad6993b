// The one catalog query that finds every sequence to check and everything about its tables that
// decides how (and whether) to read their maxima. It touches only catalogs and takes no lock on
// any table or sequence. Per-row work is kept to what cannot be shared: privileges of a schema
// are computed once per schema and indexes once per table (at 10,000 sequences each per-row
// function call costs tens of milliseconds).
//
// One row per (sequence, table, column) pair, from two sources:
// - $1..$4: Synapse's catalogue as parallel arrays (sequence, table, column, aggregate), each
//   name unqualified and resolved through search_path as Synapse resolves it; pairs whose
//   sequence, table or column this schema lacks drop out here (older or newer Synapse);
// - $5 (boolean): every sequence a column owns: serial and OWNED BY (pg_depend deptype 'a') and
//   identity columns (deptype 'i').
// Three things spare the reads that follow:
// - `empty`: the table's file is empty, so it has no page and no row, and its maximum need not be
//   planned or read (exact, unlike reltuples; see STAT_FILE_EMPTY for how it is asked). Most
//   tables of a large schema are empty. A table the statistics say has pages or rows is not
//   asked: it is read, and the read is exact whatever they say. Every request asks, whether or
//   not it reads maxima, so that two checks over the same sequences send the same text and share
//   the read.
// - `table_locked`/`seq_locked`: another session holds or waits for ACCESS EXCLUSIVE on the table,
//   one of its indexes or children, or the sequence; reading it would wait out lock_timeout, so it
//   is reported with its holder instead, and its size is not asked (pg_relation_size would wait).
// - `settled`: the sequences left out of the rows because all their tables are empty (counted).
/**
 * The query for a server of major version `major`, for a role that may stat files (`statFiles`)
 * or not. From 12 a CTE used once is planned into the query, and on a small schema the planner
 * then recomputed `pairs` once per sequence (a nested loop over an estimate of one row: 22 times,
 * 16 ms of a full check's 25 on Debian's 15), so it is asked to compute it once; before 12 every
 * CTE is computed once, and MATERIALIZED is no keyword.
 */
export function sequenceCatalogSql(major: number, statFiles: boolean): string {
  return catalogSql(major >= 12 ? 'MATERIALIZED ' : '', statFiles ? STAT_FILE_EMPTY : RELATION_SIZE_EMPTY);
}

/**
 * Whether a table's main fork is empty. pg_relation_size opens the relation, and on the fresh
 * backend of a check that builds its relcache entry: 15-30 us a table, the most of the catalog
 * query at 10,000 tables and more at 50,000 (the cache keeps growing). A superuser may stat the
 * file instead (pg_stat_file reads files under the data directory for superusers and
 * pg_read_server_files only, and its EXECUTE privilege is checked when the query starts, whether
 * or not it is called), which needs only the pg_class row: three times faster at 50,000 tables
 * on Debian's 15. A file that is not there (an unlogged table on a standby, a table dropped since
 * the snapshot) holds no row either. Segments after the first exist only when the first is full.
 */
const RELATION_SIZE_EMPTY = 'pg_relation_size(t.oid) = 0';

/**
 * The main fork's path, as pg_relation_filepath gives it, for a table in pg_default (OID 1663 in
 * every release) written out from its pg_class row: pg_relation_filepath looks the row up again
 * in a syscache that is cold on a check's fresh backend (catalog query at 10,000 tables: 170 ->
 * 148 ms on the embedded 18, 157 -> 132 ms on Debian's 15). Anything else (another tablespace, a
 * temporary or mapped relation) asks it.
 */
const RELATION_PATH = `CASE WHEN t.relfilenode <> 0 AND t.relpersistence <> 't'
                    AND coalesce(nullif(t.reltablespace, 0), (SELECT dattablespace FROM db)) = 1663
                  THEN 'base/' || (SELECT oid FROM db) || '/' || t.relfilenode
                  ELSE pg_relation_filepath(t.oid) END`;
const STAT_FILE_EMPTY = `coalesce((pg_stat_file(${RELATION_PATH}, true)).size, 0) = 0`;

const catalogSql = (materialized: string, emptySql: string) => `
WITH db AS (
  SELECT oid, dattablespace FROM pg_database WHERE datname = current_database()
), wanted AS (
  SELECT w.seq_name, w.tbl_name, w.col_name, w.agg,
         to_regclass(quote_ident(w.seq_name)) AS seq, to_regclass(quote_ident(w.tbl_name)) AS tbl
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS w(seq_name, tbl_name, col_name, agg)
), pairs AS ${materialized}(
  SELECT w.seq, w.tbl, a.attnum, w.agg, w.seq_name AS synapse, false AS identity
    FROM wanted w
    -- One index probe per catalogue column: joined, the planner hashed a scan of all of
    -- pg_attribute (0.5-1.3 ms of the Synapse-like fixture on the embedded 18, too little to
    -- measure on Debian's 15, and more with every table); OFFSET 0 keeps the subquery from
    -- being pulled up into that join.
    CROSS JOIN LATERAL (SELECT a.attnum FROM pg_attribute a
                         WHERE a.attrelid = w.tbl AND a.attname = w.col_name AND a.attnum > 0 AND NOT a.attisdropped
                        OFFSET 0) a
  UNION ALL
  SELECT d.objid, d.refobjid, d.refobjsubid, NULL, NULL, d.deptype = 'i'
    FROM pg_depend d
   WHERE $5::boolean
     AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
     AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
), excl AS (
  SELECT DISTINCT l.relation FROM pg_locks l
   WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
     AND l.database = (SELECT oid FROM db)
     AND l.pid IS DISTINCT FROM pg_backend_pid()
), schemas AS (
  SELECT oid, nspname, has_schema_privilege(oid, 'USAGE') AS usage FROM pg_namespace
), indexes AS (
  -- A maximum is read through an index when a valid, non-partial btree index starts with the column.
  SELECT i.indrelid, count(*) AS n, array_agg(i.indexrelid) AS oids,
         array_agg(i.indkey[0]) FILTER (WHERE ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
                                          AND i.indpred IS NULL AND i.indisvalid) AS leads
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
   GROUP BY i.indrelid
), base AS (
  -- One row per sequence and column, with only what tells whether the sequence is settled.
  SELECT p.seq, p.tbl, p.attnum, p.agg, p.synapse, p.identity, s.relnamespace AS seq_namespace,
         t.relnamespace AS tbl_namespace, x.table_locked, ix.n AS index_count, ix.leads,
         EXISTS (SELECT 1 FROM excl e WHERE e.relation = s.oid) AS seq_locked,
         CASE WHEN NOT (t.relkind = 'r' AND NOT t.relhassubclass AND NOT x.table_locked) THEN NULL
              -- Pages or rows at the last VACUUM or ANALYZE: most likely not empty, so its maximum
              -- is read, which is exact either way, and pg_relation_size (a relcache entry built
              -- on this fresh backend, 15-20 us a table) is spared.
              WHEN t.relpages > 0 OR t.reltuples > 0 THEN false
              ELSE ${emptySql} END AS empty
    FROM pairs p
    JOIN pg_class s ON s.oid = p.seq AND s.relkind = 'S' AND s.relpersistence <> 't'
    JOIN pg_class t ON t.oid = p.tbl AND t.relkind IN ('r', 'p', 'f')
    LEFT JOIN indexes ix ON ix.indrelid = t.oid
    CROSS JOIN LATERAL (
      SELECT EXISTS (SELECT 1 FROM excl e
                      WHERE e.relation = t.oid OR e.relation = ANY (ix.oids)
                         OR e.relation IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = t.oid)) AS table_locked
    ) x
), marked AS (
  -- Settled: a sequence only columns own (none of Synapse's), unlocked, every table of which is
  -- empty. Nothing can be above it and nothing needs reading (so no privilege either); it is
  -- counted, not listed: at 10,000 serial tables most are such, and working out, formatting,
  -- sending and parsing their rows was a third of the check. A window, not a join against a
  -- list of them: the planner cannot estimate such a list and may scan it once per row.
  SELECT b.*, bool_and(b.synapse IS NULL AND coalesce(b.empty, false) AND NOT b.seq_locked) OVER (PARTITION BY b.seq) AS settled
    FROM base b
)
-- Every other row in full, each with the count; one row of NULLs and the count when all are settled.
SELECT b.seq::oid::bigint AS seq_oid, sn.nspname AS seq_schema, s.relname AS seq_name,
       ps.seqincrement::text AS increment, ps.seqmin::text AS min_value, ps.seqmax::text AS max_value,
       sn.usage AND has_sequence_privilege(s.oid, 'SELECT') AS seq_select,
       b.synapse, b.agg, b.identity,
       b.tbl::oid::bigint AS table_oid, tn.nspname AS table_schema, t.relname AS table_name, t.relkind::text AS relkind,
       a.attname AS column_name,
       tn.usage AND (has_table_privilege(t.oid, 'SELECT') OR has_column_privilege(t.oid, b.attnum::smallint, 'SELECT')) AS table_select,
       -- reltuples is -1 (PostgreSQL 14+) or 0 before the first VACUUM or ANALYZE; the statistics
       -- system's live-tuple count covers that gap.
       (CASE WHEN t.relkind = 'p' OR t.relhassubclass
             THEN GREATEST(t.reltuples, 0) + (SELECT coalesce(sum(GREATEST(c.reltuples, 0)), 0)
                                                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = t.oid)
             WHEN t.reltuples > 0 THEN t.reltuples
             ELSE coalesce(pg_stat_get_live_tuples(t.oid), 0) END)::float8 AS row_estimate,
       coalesce(b.attnum = ANY (b.leads), false) AS indexed,
       -- Locks a read of the column takes: the table, each of its indexes (the planner opens them
       -- all), and each child table with its indexes.
       (1 + coalesce(b.index_count, 0)
          + CASE WHEN t.relhassubclass
                 THEN (SELECT coalesce(sum(1 + coalesce(ci.n, 0)), 0)
                         FROM pg_inherits i LEFT JOIN indexes ci ON ci.indrelid = i.inhrelid WHERE i.inhparent = t.oid)
                 ELSE 0 END)::int AS lock_weight,
       b.table_locked, b.seq_locked, b.empty, n.settled
  FROM (SELECT count(DISTINCT seq)::int AS settled FROM marked WHERE settled) n
  LEFT JOIN (marked b
             JOIN pg_class s ON s.oid = b.seq
             JOIN schemas sn ON sn.oid = b.seq_namespace
             JOIN pg_sequence ps ON ps.seqrelid = b.seq
             JOIN pg_class t ON t.oid = b.tbl
             JOIN schemas tn ON tn.oid = b.tbl_namespace
             JOIN pg_attribute a ON a.attrelid = b.tbl AND a.attnum = b.attnum)
    ON NOT b.settled
`;
