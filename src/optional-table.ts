// Reading a table that may not exist, in the same statement as everything else a check asks.
// A statement that names a missing table fails when it is parsed and aborts the read-only
// transaction, and a first round trip only to ask whether the table is there would double a
// check's cost. query_to_xml() runs a query given as text, and only when the CASE reaches it, so
// the statement stays valid either way (the same idiom counts the rows of many tables in one
// statement). query_to_xml needs no libxml: it works on servers built without XML support.
import { quoteLiteral } from './quote.js';

export type OptionalTable<T> = { state: 'missing' } | { state: 'denied' } | { state: 'ok'; value: T };

/**
 * A select-list expression yielding, as text: NULL when `table` does not exist, `denied` when the
 * role may not read it, else the XML that query_to_xml makes of `jsonQuery` (one json value).
 * Read the result with parseOptionalTable. `table` resolves through search_path, as the
 * application's own unqualified queries do.
 */
export function optionalTableJson(table: string, jsonQuery: string): string {
  const rel = `to_regclass(${quoteLiteral(table)})`;
  const inner = `SELECT (${jsonQuery})::text AS j`;
  return `CASE WHEN ${rel} IS NULL THEN NULL
            WHEN NOT has_table_privilege(${rel}, 'SELECT') THEN 'denied'
            ELSE query_to_xml(${quoteLiteral(inner)}, false, true, '')::text END`;
}

/** query_to_xml escapes &, <, > and carriage returns (PostgreSQL's escape_xml); undo exactly that. */
function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|#x([0-9a-fA-F]+));/g, (_, name: string, hex?: string) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : name === 'lt' ? '<' : name === 'gt' ? '>' : '&',
  );
}

export function parseOptionalTable<T>(value: unknown, empty: T): OptionalTable<T> {
  if (value === null || value === undefined) return { state: 'missing' };
  const text = String(value);
  if (text === 'denied') return { state: 'denied' };
  const m = /<j>([\s\S]*)<\/j>/.exec(text);
  // No <j> element: the query returned SQL NULL (an aggregate over no rows).
  return { state: 'ok', value: m ? (JSON.parse(unescapeXml(m[1]!)) as T) : empty };
}

/**
 * A select-list expression: the exact row count of the relation `schemaExpr`.`nameExpr` (SQL
 * expressions, e.g. columns of pg_class/pg_namespace), or NULL when the role may not read it.
 */
export function rowCountExpr(oidExpr: string, schemaExpr: string, nameExpr: string): string {
  return `CASE WHEN has_table_privilege(${oidExpr}, 'SELECT') THEN
            substring(query_to_xml(format('SELECT count(*) AS n FROM %I.%I', ${schemaExpr}, ${nameExpr}), false, true, '')::text
                      FROM '<n>([0-9]+)</n>')::bigint END`;
}
