// A database in Synapse's shape on a throwaway server: the compact schema of fixtures/synapse
// (every table and sequence Synapse checks), for the benchmarks and the build's code-cache
// training. Only in a checkout: the npm package carries no fixtures.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ThrowawayServer } from './server.js';

/** fixtures/synapse/schema.sql, from src/throwaway or from its build in dist/src/throwaway. */
function schemaFile(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), up = 0; up < 4; dir = dirname(dir), up++) {
    const file = join(dir, 'fixtures', 'synapse', 'schema.sql');
    if (existsSync(file)) return file;
  }
  throw new Error('fixtures/synapse/schema.sql not found: a Synapse-like database needs a checkout');
}

/** Creates `name` (UTF8, C) with the Synapse-like schema; returns a client connected to it. */
export async function createSynapseDatabase(server: ThrowawayServer, name = 'synapse'): Promise<pg.Client> {
  const connect = async (database: string) => {
    const client = new pg.Client({ host: server.socketDir, port: server.port, user: server.superuser, database });
    await client.connect();
    return client;
  };
  const admin = await connect('postgres');
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  } finally {
    await admin.end();
  }
  const db = await connect(name);
  await db.query(readFileSync(schemaFile(), 'utf8'));
  return db;
}
