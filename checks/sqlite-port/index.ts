import { defineCheck } from '../../src/define-check.js';
import { sqlitePortSteps } from '../../src/config/homeserver.js';
import { optionalTableJson, parseOptionalTable, rowCountExpr } from '../../src/optional-table.js';
import { shellQuote } from '../../src/quote.js';
import { portExclusion } from './port-tables.js';
import type { SqliteSnapshot } from '../../src/sqlite/snapshot.js';
import type { CheckContext, Finding, Remediation } from '../../src/types.js';

interface Row extends Record<string, unknown> {
  port: unknown;
  counts: [string, string | null][] | null;
}

/** Tables named in a message; the details hold them all. */
const SHOWN = 6;

// One statement: the port's bookkeeping table if there is one, and, only then, the exact row
// count of every table the SQLite file also has, as Synapse finds them (search_path). The port
// itself pairs tables by name the same way (sqlite_master against information_schema.tables).
const SQL = `
SELECT ${optionalTableJson('port_from_sqlite3', 'SELECT count(*) FROM port_from_sqlite3')} AS port,
       (SELECT json_agg(json_build_array(c.relname, (${rowCountExpr('c.oid', 'n.nspname', 'c.relname')})::text) ORDER BY c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE to_regclass('port_from_sqlite3') IS NOT NULL
           AND c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[]) AND pg_table_is_visible(c.oid)) AS counts`;

interface Comparison {
  table: string;
  sqlite: number;
  postgres: number;
}

/**
 * The seed's two-phase steps with the user's names. They assume the PostgreSQL config is the
 * SQLite one with "-postgres" added (homeserver-postgres.yaml); with another name, or a config
 * already swapped in, the port command is spelled out with the names as they are.
 */
function portSteps(ctx: CheckContext, sqlitePath: string, finalOnly: boolean): Remediation[] {
  const pgConfig = ctx.target.synapse?.files.at(-1);
  const liveDb = sqlitePath.replace(/\.snapshot$/, '');
  const seedNames = pgConfig === undefined ? null : /^(.*)-postgres(\.ya?ml)$/.exec(pgConfig);
  if (pgConfig === undefined || seedNames) {
    const steps = sqlitePortSteps(seedNames ? `${seedNames[1]}${seedNames[2]}` : 'homeserver.yaml', liveDb);
    return finalOnly ? steps.filter((s) => s.title?.startsWith('Phase 2') || s.kind === 'text') : steps;
  }
  return [
    {
      kind: 'shell',
      title: `${finalOnly ? 'Final phase' : 'Port'}: with Synapse and every worker stopped, copy what the PostgreSQL database lacks`,
      text: ['synctl stop', `synapse_port_db --sqlite-database ${shellQuote(liveDb)} --postgres-config ${shellQuote(pgConfig)}`, 'synctl start'].join('\n'),
    },
    sqlitePortSteps(pgConfig, liveDb).find((s) => s.kind === 'text')!,
  ];
}

function listTables(rows: Comparison[]): string {
  const shown = rows.slice(0, SHOWN).map((c) => `${c.table} (SQLite ${c.sqlite}, PostgreSQL ${c.postgres})`);
  return `${shown.join(', ')}${rows.length > SHOWN ? `, and ${rows.length - SHOWN} more` : ''}`;
}

function compare(ctx: CheckContext, snapshot: SqliteSnapshot, counts: Map<string, number | null>, portedTables: number): Finding[] {
  const compared: Comparison[] = [];
  const excluded: { table: string; reason: string }[] = [];
  const notInPostgres: string[] = [];
  const unreadable: { table: string; reason: string }[] = [];
  for (const t of snapshot.tables) {
    const reason = portExclusion(t.name);
    if (reason) {
      excluded.push({ table: t.name, reason });
    } else if (!counts.has(t.name)) {
      notInPostgres.push(t.name);
    } else if (t.rows === undefined || counts.get(t.name) === null) {
      unreadable.push({ table: t.name, reason: t.rows === undefined ? `SQLite: ${t.error}` : `${ctx.facts.user} may not read it in PostgreSQL` });
    } else {
      compared.push({ table: t.name, sqlite: t.rows, postgres: counts.get(t.name)! });
    }
  }
  const behind = compared.filter((c) => c.postgres < c.sqlite);
  const ahead = compared.filter((c) => c.postgres > c.sqlite);
  const details = {
    sqliteDatabase: snapshot.path,
    portedTables,
    compared: compared.length,
    behind,
    ahead,
    excluded,
    notInPostgres,
    unreadable,
  };
  const skippedNote = excluded.length > 0 ? `; not compared, as the port skips or rebuilds them: ${excluded.map((e) => e.table).join(', ')}` : '';
  const findings: Finding[] = [];
  if (snapshot.walBytes > 0) {
    findings.push({
      code: 'sqlite-wal-pending', status: 'warning',
      object: snapshot.path,
      message: `${snapshot.path}-wal holds ${snapshot.walBytes} bytes not yet in ${snapshot.path}, which these counts do not see: Synapse is still running on it or was not shut down cleanly. Stop Synapse (the final phase needs it stopped anyway) and run pg-preflight again`,
      details: { walBytes: snapshot.walBytes },
    });
  }
  if (behind.length > 0) {
    findings.push({
      code: 'rows-missing', status: 'warning',
      object: snapshot.path,
      message: `${behind.length} of ${compared.length} tables have fewer rows in PostgreSQL than in ${snapshot.path}: the final synapse_port_db run (Synapse stopped) has not happened since those rows were written, or did not finish. ${listTables(behind)}${skippedNote}`,
      details,
      remediation: [
        {
          kind: 'text',
          text: 'Only while Synapse has not yet run on PostgreSQL: the port script empties and copies again every table that is not append-only, which would lose what Synapse wrote there since. A few rows short in one table can also be rows the port dropped for a NUL character ("DROPPING ROW" in its log).',
        },
        ...portSteps(ctx, snapshot.path, true),
      ],
    });
  } else {
    const more = ahead.length > 0 ? ` (${ahead.length} have more: Synapse has written to PostgreSQL since, or the file is an older snapshot)` : '';
    findings.push({
      code: 'port-complete', status: 'ok',
      message: `all ${compared.length} tables compared have at least as many rows in PostgreSQL as in ${snapshot.path}${more}${skippedNote}`,
      details,
    });
  }
  return findings;
}

export default defineCheck({
  id: 'sqlite-port',
  title: 'A port from SQLite is complete',
  description: 'A database made by synapse_port_db, and, with --sqlite-database, whether it has every row of the SQLite database.',
  tags: ['synapse'],
  docs: `Synapse's synapse_port_db copies a SQLite homeserver.db into PostgreSQL and keeps its
progress in a port_from_sqlite3 table; a database that has one came from such a port (info). The
port is meant to run twice: once from a snapshot while Synapse keeps running, then a final time
with Synapse stopped, for what came in since. A database switched over after only the first run
lacks everything written in between.
With --sqlite-database FILE (the SQLite database, read by pg-preflight on this host), the row
count of every table is compared with PostgreSQL's (one statement for all tables): fewer rows in
PostgreSQL is a warning that names the tables. More rows is fine: Synapse has written since, or
the file is an older snapshot. Tables the port skips or rebuilds are not compared and are named
(the user directory, UI auth sessions, worker locks, schema bookkeeping, event_search,
sent_transactions, user_directory_stream_pos). The file is read whole into memory (about twice its
size while it is read); rows still in its -wal file are not seen, which is reported. Counting
every table of a large database can take longer than --statement-timeout: raise it for this run.
Fix: the final synapse_port_db run with Synapse stopped, as the seed guide's two phases say, with
your file names; only while Synapse has not yet written to PostgreSQL.`,
  inputs: ['sqliteDatabase'],
  codes: {
    'port-complete': { status: 'ok', summary: 'Every table compared has at least as many rows in PostgreSQL as in SQLite.' },
    'not-ported': { status: 'ok', summary: 'Not ported from SQLite.' },
    'not-synapse': { status: 'skipped', summary: 'Not a Synapse database.' },
    'port-table-unreadable': { status: 'skipped', summary: 'The role may not read port_from_sqlite3.' },
    'sqlite-wal-pending': { status: 'warning', summary: 'The SQLite -wal file holds rows the counts do not see.', remediation: ['shell'] },
    'rows-missing': { status: 'warning', summary: 'Tables have fewer rows in PostgreSQL than in SQLite: the final port has not run.', remediation: ['shell', 'text'] },
    'port-never-ran': { status: 'warning', summary: '--sqlite-database was given, but synapse_port_db has not run against this database.', remediation: ['shell', 'text'] },
    'ported-unverified': { status: 'info', summary: 'Ported by synapse_port_db; give --sqlite-database to check the final phase.' },
  },
  async run(ctx) {
    if (!ctx.facts.isSynapse) return { code: 'not-synapse', status: 'skipped', message: 'not a Synapse database (no schema_version table)' };
    const source = ctx.inputs.sqliteDatabase;
    // The file is read by the source (host I/O, done once for every database checked).
    const snapshot = source ? await source.read() : undefined;
    const names = snapshot ? snapshot.tables.filter((t) => !portExclusion(t.name)).map((t) => t.name) : [];
    const [row] = await ctx.query<Row>(SQL, [names]);
    const port = parseOptionalTable<number>(row?.port, 0);
    if (port.state === 'denied') {
      return { code: 'port-table-unreadable', status: 'skipped', message: `${ctx.facts.user} may not read port_from_sqlite3: run pg-preflight as the database user Synapse uses` };
    }
    if (port.state === 'missing') {
      if (!snapshot) return { code: 'not-ported', status: 'ok', message: 'not ported from SQLite (no port_from_sqlite3 table)' };
      return {
        code: 'port-never-ran', status: 'warning',
        message: `--sqlite-database ${snapshot.path} was given, but this database has no port_from_sqlite3 table: synapse_port_db has not run against it`,
        details: { sqliteDatabase: snapshot.path },
        remediation: portSteps(ctx, snapshot.path, false),
      };
    }
    if (!snapshot) {
      return {
        code: 'ported-unverified', status: 'info',
        message: `ported from SQLite by synapse_port_db (port_from_sqlite3 records ${port.value} tables); to see whether its final phase ran, check again with --sqlite-database and the SQLite file (homeserver.db)`,
        details: { portedTables: port.value },
      };
    }
    const counts = new Map((row?.counts ?? []).map(([name, n]) => [name, n === null ? null : Number(n)]));
    return compare(ctx, snapshot, counts, port.value);
  },
});
