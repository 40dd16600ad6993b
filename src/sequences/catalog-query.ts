// The one catalog query that finds every sequence to check and everything about its tables that
// decides how (and whether) to read their maxima. It touches only catalogs and takes no lock on
// any table or sequence, so its cost does not depend on how many there are beyond the rows.
//
// One row per (sequence, table, column) pair, from two sources:
// - $1..$4: Synapse's catalogue as parallel arrays (sequence, table, column, aggregate), each
//   name unqualified and resolved through search_path as Synapse resolves it; pairs whose
//   sequence, table or column this schema lacks drop out here (older or newer Synapse);
// - $5 (boolean): every sequence a column owns: serial and OWNED BY (pg_depend deptype 'a') and
//   identity columns (deptype 'i').
export const SEQUENCE_CATALOG_SQL = `
WITH wanted AS (
  SELECT w.seq_name, w.tbl_name, w.col_name, w.agg,
         to_regclass(quote_ident(w.seq_name)) AS seq, to_regclass(quote_ident(w.tbl_name)) AS tbl
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS w(seq_name, tbl_name, col_name, agg)
), pairs AS (
  SELECT w.seq, w.tbl, a.attnum, w.agg, w.seq_name AS synapse, false AS identity
    FROM wanted w
    JOIN pg_attribute a ON a.attrelid = w.tbl AND a.attname = w.col_name AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT d.objid, d.refobjid, d.refobjsubid, NULL, NULL, d.deptype = 'i'
    FROM pg_depend d
   WHERE $5::boolean
     AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
     AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
)
SELECT p.seq::oid::bigint AS seq_oid, sn.nspname AS seq_schema, s.relname AS seq_name,
       ps.seqincrement::text AS increment, ps.seqmin::text AS min_value, ps.seqmax::text AS max_value,
       has_schema_privilege(s.relnamespace, 'USAGE') AS seq_schema_usage,
       has_sequence_privilege(s.oid, 'SELECT') AS seq_select,
       has_sequence_privilege(s.oid, 'SELECT,USAGE') AS seq_any,
       p.synapse, p.agg, p.identity,
       p.tbl::oid::bigint AS table_oid, tn.nspname AS table_schema, t.relname AS table_name, t.relkind::text AS relkind,
       a.attname AS column_name, p.attnum::int AS attnum,
       has_schema_privilege(t.relnamespace, 'USAGE') AND has_column_privilege(t.oid, p.attnum::smallint, 'SELECT') AS table_select,
       (CASE WHEN t.relkind = 'p' OR t.relhassubclass
             THEN GREATEST(t.reltuples, 0) + (SELECT coalesce(sum(GREATEST(c.reltuples, 0, coalesce(pg_stat_get_live_tuples(c.oid), 0))), 0)
                                                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = t.oid)
             ELSE GREATEST(t.reltuples, 0, coalesce(pg_stat_get_live_tuples(t.oid), 0)) END)::float8 AS row_estimate,
       EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = t.oid AND i.indkey[0] = p.attnum AND am.amname = 'btree'
                  AND i.indpred IS NULL AND i.indisvalid) AS indexed,
       (1 + (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.oid)
          + CASE WHEN t.relhassubclass
                 THEN (SELECT coalesce(sum(1 + (SELECT count(*) FROM pg_index ci WHERE ci.indrelid = i.inhrelid)), 0)
                         FROM pg_inherits i WHERE i.inhparent = t.oid)
                 ELSE 0 END)::int AS lock_weight
  FROM pairs p
  JOIN pg_class s ON s.oid = p.seq AND s.relkind = 'S' AND s.relpersistence <> 't'
  JOIN pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_sequence ps ON ps.seqrelid = s.oid
  JOIN pg_class t ON t.oid = p.tbl AND t.relkind IN ('r', 'p', 'f')
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = p.attnum
 ORDER BY sn.nspname, s.relname, tn.nspname, t.relname, a.attname
`;
