// `pg-preflight demo`: a throwaway server, a deliberately broken Synapse-like database, the
// report, the fix, and the clean re-check. Everything it creates is deleted at the end.
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
import { EXIT } from './errors.js';

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
      if (!(e instanceof Error && e.message.startsWith('no PostgreSQL'))) throw e;
    }
  }
  throw last;
}

async function superuserSql(server: ThrowawayServer, database: string, sql: string): Promise<void> {
  const client = new pg.Client({ host: server.socketDir, port: server.port, user: server.superuser, database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
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
    const schema = 'CREATE TABLE schema_version (lock char(1) NOT NULL DEFAULT \'X\' UNIQUE, version int NOT NULL, upgraded bool NOT NULL); INSERT INTO schema_version VALUES (\'X\', 94, true); ALTER TABLE schema_version OWNER TO synapse_user;';
    await superuserSql(server, 'synapse', schema);

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

    say('The fix the report prints: a new database with createdb --encoding=UTF8 --locale=C --template=template0, swapped in by name');
    await superuserSql(server, 'postgres', "CREATE DATABASE synapse_new OWNER synapse_user ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    await superuserSql(server, 'synapse_new', schema);
    await superuserSql(server, 'postgres', 'ALTER DATABASE synapse RENAME TO synapse_old');
    await superuserSql(server, 'postgres', 'ALTER DATABASE synapse_new RENAME TO synapse');
    opts.write('(the demo recreates its one table; with real data, pg_dump/pg_restore from the report move it)\n');

    say('pg-preflight check --config homeserver.yaml, again');
    const after = await check();
    const ok = before === EXIT.findings && after === EXIT.ok;
    say(ok ? 'Demo finished: broken database found, fixed, and re-checked clean' : 'Demo did not end as expected');
    return ok ? EXIT.ok : EXIT.findings;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
