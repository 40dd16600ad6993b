// An example pg-preflight plugin: the tables an application cannot start without must exist, and
// the role it connects as must be able to read them. Everything it uses comes from the public
// "pg-preflight" API, so this file type-checks against exactly what the package exports.
import { defineCheck, quoteIdent, quoteQualified, type Finding } from 'pg-preflight';

interface TableRow extends Record<string, unknown> {
  schema: string;
  name: string;
  found: boolean;
  readable: boolean | null;
}

/** "schema.table" or "table" (then in public), as the names are stored: case-sensitive, unquoted. */
function parseTables(list: string): { schema: string; name: string }[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const dot = item.indexOf('.');
      return dot < 0 ? { schema: 'public', name: item } : { schema: item.slice(0, dot), name: item.slice(dot + 1) };
    });
}

export const requiredTables = defineCheck({
  id: 'required-tables',
  title: 'Required tables exist and are readable',
  description: 'Every table named in the "tables" param exists in the database and the connecting role may SELECT from it.',
  docs: `Looks up each table of the "tables" param (comma-separated, schema.table or table for
public; names as stored, case-sensitive) in pg_class, in one query, and asks
has_table_privilege(..., 'SELECT') for the connecting role.

A missing table usually means the application's migrations have not run against this database,
or the connection points at the wrong database. A table the role cannot read means the tables
were created by another role: grant access (the remediation prints the GRANT) or connect as the
owner.

Set the list in .pg-preflight.yaml:
  checks:
    required-tables:
      params: { tables: "public.users, public.events" }
or with --set required-tables.tables=public.users,public.events.`,
  tags: ['example'],
  // What its findings mean, by code: reports, waivers (code:) and docs name them.
  codes: {
    'tables-present': { status: 'ok', summary: 'Every required table exists and the role may read it.' },
    'no-tables-listed': { status: 'skipped', summary: 'The tables param is empty.' },
    'table-missing': { status: 'error', summary: 'A required table does not exist.', remediation: ['text'] },
    'table-unreadable': { status: 'error', summary: 'A required table exists, but the role may not read it.', remediation: ['sql'] },
  },
  params: {
    tables: { type: 'string', default: '', description: 'Comma-separated tables that must exist: schema.table, or table for public' },
  },
  async run(ctx): Promise<Finding | Finding[]> {
    const wanted = parseTables(String(ctx.params.tables ?? ''));
    if (wanted.length === 0) {
      return { code: 'no-tables-listed', status: 'skipped', message: 'no tables to look for: set required-tables.tables (a comma-separated list)' };
    }
    // One round trip for the whole list, whatever its length.
    const rows = await ctx.query<TableRow>(
      `SELECT w.schema, w.name, c.oid IS NOT NULL AS found,
              CASE WHEN c.oid IS NULL THEN NULL
                   ELSE has_schema_privilege(ns.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') END AS readable
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema, name, n)
         LEFT JOIN pg_namespace ns ON ns.nspname = w.schema
         LEFT JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = w.name AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY w.n`,
      [wanted.map((t) => t.schema), wanted.map((t) => t.name)],
    );
    const user = ctx.facts.user;
    const db = ctx.facts.database;
    const findings: Finding[] = [];
    for (const row of rows) {
      const object = `${row.schema}.${row.name}`;
      if (!row.found) {
        findings.push({
          code: 'table-missing',
          status: 'error',
          object,
          message: `table ${object} does not exist in database "${db}"`,
          remediation: [
            { kind: 'text', text: `Run the application's schema migrations against "${db}", or check that the connection points at the right database; if the name is wrong, fix required-tables.tables.` },
          ],
        });
      } else if (!row.readable) {
        findings.push({
          code: 'table-unreadable',
          status: 'error',
          object,
          message: `table ${object} exists but role "${user}" may not read it`,
          remediation: [
            {
              kind: 'sql',
              title: 'As the table owner or a superuser',
              text: `GRANT USAGE ON SCHEMA ${quoteIdent(row.schema)} TO ${quoteIdent(user)};\nGRANT SELECT ON ${quoteQualified(row.schema, row.name)} TO ${quoteIdent(user)};`,
            },
          ],
        });
      }
    }
    if (findings.length === 0) {
      return { code: 'tables-present', status: 'ok', message: `all ${rows.length} required table${rows.length === 1 ? '' : 's'} exist and ${user} may read them`, details: { tables: rows.map((r) => `${r.schema}.${r.name}`) } };
    }
    return findings;
  },
});

/** A plugin module exports one check or an array of them, as the default export or as `checks`. */
export default [requiredTables];
