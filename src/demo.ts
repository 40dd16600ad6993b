// `pg-preflight demo`: a throwaway server, a deliberately broken Synapse-like database (wrong
// encoding and locale, sequences behind their tables after a downgrade, a stream position ahead
// of its sequence), the report, the fix plan, the fix, and the clean re-check. Everything it
// creates is deleted at the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Chalk } from 'chalk';
import { resolveTargets } from './config/resolve.js';
import { allChecks } from './registry.js';
import { runChecks } from './runner.js';
import { exitCodeFor } from './preflight.js';
import { textReport } from './reporters/text.js';
import { startThrowawayServer, type ThrowawayServer } from './throwaway/server.js';
import { EXIT, PreflightError } from './errors.js';
import { fixSequences } from './fix.js';
import { fixTextReport } from './fix-report.js';
import { quoteIdent, quoteLiteral } from './quote.js';
import { SYNAPSE_SEQUENCES } from './synapse/sequences.js';

export interface DemoOptions {
  color: boolean;
  write: (text: string) => void;
}

const DEMO_MAJORS = [18, 17, 16, 15, 14];

async function startAnyServer(): Promise<ThrowawayServer> {
  let last: unknown;
  for (const major of DEMO_MAJORS) {
    try {
      return await startThrowawayServer({ major });
    } catch (e) {
      last = e;
      if (!(e instanceof Error && e.message.startsWith('no PostgreSQL'))) break;
    }
  }
  // The machine, not pg-preflight: one line with the cause (the harness's errors name the fix).
  const cause = (last instanceof Error ? last.message : String(last)).split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(': ');
  throw new PreflightError(`the demo could not start a throwaway PostgreSQL: ${cause}`, EXIT.usage, 'demo-server', [
    { kind: 'text', text: 'Run "npm ci" in the checkout (it installs the server binaries); as root, the server runs as the "postgres" (or "nobody") account, which must be able to read the temp directory.' },
  ]);
}

async function connect(server: ThrowawayServer, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: server.socketDir, port: server.port, user: server.superuser, database });
  await client.connect();
  return client;
}

async function superuserSql(server: ThrowawayServer, database: string, sql: string): Promise<void> {
  const client = await connect(server, database);
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A Synapse-like schema built from Synapse's sequence catalogue (the demo ships without the
 * test fixtures): each table with the columns its sequences are compared with, indexed as
 * Synapse indexes its stream columns; the sequences, stream ones at 1 and handed out as
 * Synapse leaves them; stream_positions and schema_version. Owned by the role Synapse uses.
 */
function synapseLikeSchema(owner: string): string {
  const tables = new Map<string, Set<string>>();
  for (const s of SYNAPSE_SEQUENCES) for (const c of s.columns) tables.set(c.table, (tables.get(c.table) ?? new Set()).add(c.column));
  const sql = [`SET ROLE ${quoteIdent(owner)};`];
  sql.push("CREATE TABLE schema_version (lock char(1) NOT NULL DEFAULT 'X' UNIQUE, version int NOT NULL, upgraded bool NOT NULL);");
  sql.push("INSERT INTO schema_version VALUES ('X', 94, true);");
  sql.push('CREATE TABLE stream_positions (stream_name text NOT NULL, instance_name text NOT NULL, stream_id bigint NOT NULL);');
  sql.push('CREATE UNIQUE INDEX stream_positions_idx ON stream_positions (stream_name, instance_name);');
  for (const [table, columns] of tables) {
    const users = table === 'users';
    sql.push(`CREATE TABLE ${quoteIdent(table)} (${[...columns].map((c) => `${quoteIdent(c)} ${users ? 'text PRIMARY KEY' : 'bigint'}`).join(', ')});`);
    if (!users) for (const c of columns) sql.push(`CREATE INDEX ON ${quoteIdent(table)} (${quoteIdent(c)});`);
  }
  for (const s of SYNAPSE_SEQUENCES) {
    sql.push(`CREATE SEQUENCE ${quoteIdent(s.sequence)};`);
    if (s.streamName) sql.push(`SELECT setval(${quoteLiteral(quoteIdent(s.sequence))}, 1);`);
  }
  return sql.join('\n');
}

/**
 * Downgrade then upgrade: rows above three sequences; and a worker's receipts position 32 ahead
 * of receipts_sequence, as after the failover of Synapse issue #18544.
 */
const LAGGING_SEQUENCES = `
INSERT INTO events (stream_ordering) SELECT g FROM generate_series(2, 152) g;
SELECT setval('events_stream_seq', 120);
INSERT INTO device_inbox (stream_id) SELECT g FROM generate_series(2, 40) g;
SELECT setval('device_inbox_sequence', 10);
INSERT INTO state_groups (id) SELECT g FROM generate_series(1, 300) g;
SELECT setval('state_group_id_seq', 250);
INSERT INTO receipts_linearized (stream_id) SELECT g FROM generate_series(2, 5) g;
SELECT setval('receipts_sequence', 5);
INSERT INTO stream_positions VALUES ('events', 'master', 120), ('receipts', 'master', 5), ('receipts', 'client_reader1', 37);
`;

/**
 * What pg_dump | pg_restore does for this schema: the same tables, every row, and every
 * sequence's value, in the new database.
 */
async function copyDatabase(server: ThrowawayServer, from: string, to: string, owner: string): Promise<void> {
  const [source, target] = [await connect(server, from), await connect(server, to)];
  try {
    await target.query(synapseLikeSchema(owner));
    // The new schema comes with its own schema_version row; the copy brings the old one.
    await target.query('DELETE FROM schema_version');
    const tables = await source.query<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace");
    for (const { name } of tables.rows) {
      const table = quoteIdent(name);
      const { rows } = await source.query<{ rows: unknown[] | null }>(`SELECT json_agg(t) AS rows FROM ${table} t`);
      await target.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [JSON.stringify(rows[0]?.rows ?? [])]);
    }
    for (const s of SYNAPSE_SEQUENCES) {
      const { rows } = await source.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${quoteIdent(s.sequence)}`);
      await target.query('SELECT setval($1::regclass, $2::bigint, $3)', [quoteIdent(s.sequence), rows[0]!.last_value, rows[0]!.is_called]);
    }
  } finally {
    await Promise.all([source.end(), target.end()]);
  }
}

function homeserverYaml(server: ThrowawayServer, database: string): string {
  return [
    'server_name: demo.example.org',
    'database:',
    '  name: psycopg2',
    '  args:',
    '    user: synapse_user',
    '    password: demo-secret',
    `    dbname: ${database}`,
    `    host: ${server.host}`,
    `    port: ${server.port}`,
    '    cp_min: 5',
    '    cp_max: 10',
    '',
  ].join('\n');
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const say = (text: string) => opts.write(`\n${c.bold.blue('==>')} ${c.bold(text)}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'pg-preflight-demo-'));
  say('Starting a throwaway PostgreSQL server (nothing needs to be installed)');
  const server = await startAnyServer();
  try {
    opts.write(`PostgreSQL ${server.version} listening on ${server.host}:${server.port}\n`);
    say('Creating a Synapse database the way the guide warns against: SQL_ASCII encoding, C.UTF-8 locale');
    await superuserSql(server, 'postgres', "CREATE ROLE synapse_user LOGIN PASSWORD 'demo-secret'");
    await superuserSql(
      server,
      'postgres',
      "CREATE DATABASE synapse OWNER synapse_user ENCODING 'SQL_ASCII' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0",
    );
    await superuserSql(server, 'synapse', synapseLikeSchema('synapse_user'));
    say('... then downgrading and upgrading Synapse: rows above three sequences, a receipts position 32 ahead of its sequence');
    await superuserSql(server, 'synapse', LAGGING_SEQUENCES);

    const config = join(dir, 'homeserver.yaml');
    writeFileSync(config, homeserverYaml(server, 'synapse'));
    opts.write(`homeserver.yaml database section written to ${config}\n`);

    const check = async () => {
      const { targets } = resolveTargets({ configPaths: [config], env: {} });
      const report = await runChecks({ targets, checks: allChecks() });
      opts.write(textReport(report, { color: opts.color }));
      const code = exitCodeFor(report, 'error');
      opts.write(c.dim(`exit code ${code}\n`));
      return code;
    };
    say('pg-preflight check --config homeserver.yaml');
    const before = await check();

    // The library call behind `pg-preflight fix`: the plan, then --apply.
    const fix = async (apply: boolean) => {
      const report = await fixSequences({ configPaths: [config], env: {}, apply });
      opts.write(fixTextReport(report, { color: opts.color }));
      opts.write(c.dim(`exit code ${report.exitCode}\n`));
      return report.exitCode;
    };
    say('pg-preflight fix --config homeserver.yaml (the plan; nothing is changed)');
    const planned = await fix(false);
    say('pg-preflight fix --config homeserver.yaml --apply (Synapse stopped: one transaction, values before and after)');
    const applied = await fix(true);

    say('The encoding fix the report prints: a new database with createdb --encoding=UTF8 --locale=C --template=template0, swapped in by name');
    await superuserSql(server, 'postgres', "CREATE DATABASE synapse_new OWNER synapse_user ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    await copyDatabase(server, 'synapse', 'synapse_new', 'synapse_user');
    await superuserSql(server, 'postgres', 'ALTER DATABASE synapse RENAME TO synapse_old');
    await superuserSql(server, 'postgres', 'ALTER DATABASE synapse_new RENAME TO synapse');
    opts.write('(the demo copies its rows and sequence values itself; with real data, pg_dump/pg_restore from the report move them)\n');

    say('pg-preflight check --config homeserver.yaml, again');
    const after = await check();
    const ok = before === EXIT.findings && planned === EXIT.findings && applied === EXIT.ok && after === EXIT.ok;
    say(ok ? 'Demo finished: broken database found, fixed, and re-checked clean' : 'Demo did not end as expected');
    return ok ? EXIT.ok : EXIT.findings;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
