// Row counts of a SQLite database (the homeserver.db synapse_port_db reads), for the sqlite-port
// check. Reading the file is host I/O, so it happens here, behind a source the CLI puts in the
// check options; the check itself only compares numbers.
//
// sql.js (SQLite compiled to WebAssembly) installs from npm alone on every platform, with no
// native build and no download. It works on a copy of the file in memory, so a file of N bytes
// needs about 2N of memory while it is read, and it reads only the main file: rows still in a
// -wal file (Synapse running, or not shut down cleanly) are not seen. The size of that file is
// reported, so the check can say so.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { builtin } from '../builtin.js';
import { usageError } from '../errors.js';
import { hostImport } from '../dynamic-import.js';

export interface SqliteTable {
  name: string;
  /** Absent when the table could not be counted (see error). */
  rows?: number;
  error?: string;
}

export interface SqliteSnapshot {
  path: string;
  sizeBytes: number;
  /** Bytes in the -wal file beside it: written, but not in the main file this reader sees. */
  walBytes: number;
  tables: SqliteTable[];
}

/** What `--sqlite-database FILE` puts in the check options: the path, and a read done on demand, once. */
export interface SqliteSnapshotSource {
  path: string;
  read(): Promise<SqliteSnapshot>;
}

const MAGIC = 'SQLite format 3\0';

/** Checks that `path` is a SQLite database now (a usage error, exit 2, if not); reads it when first asked. */
export function sqliteSnapshotSource(path: string): SqliteSnapshotSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw usageError('sqlite-not-found', `--sqlite-database ${path} cannot be read (${code}): give the path of Synapse's SQLite database (homeserver.db)`);
  }
  const header = Buffer.alloc(MAGIC.length);
  try {
    readSync(fd, header, 0, MAGIC.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== MAGIC) {
    throw usageError('sqlite-not-database', `--sqlite-database ${path} is not a SQLite database (its header is not "SQLite format 3")`);
  }
  let reading: Promise<SqliteSnapshot> | undefined;
  return { path, read: () => (reading ??= readSqliteSnapshot(path)) };
}

/** The whole file in one array; fs.readFileSync stops at 2 GiB. */
function readWhole(path: string, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, bytes, offset, Math.min(size - offset, 1 << 30), offset);
      if (n === 0) break;
      offset += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

function quoteSqliteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The asset name scripts/build-exe.mjs gives sql-wasm.wasm inside the single executable. */
export const SQL_WASM_ASSET = 'sql-wasm.wasm';

/**
 * In the single executable there is no node_modules for sql.js to find its .wasm file in, so it
 * gets the bytes from the executable's asset; elsewhere sql.js finds the file beside itself.
 */
function sqlJsConfig(): Record<string, unknown> {
  let sea: typeof import('node:sea') | undefined;
  try {
    sea = builtin('node:sea');
  } catch {
    // Node before 20.12 has no node:sea, and so runs no single executable.
  }
  if (!sea?.isSea()) return {};
  return { wasmBinary: new Uint8Array(sea.getAsset(SQL_WASM_ASSET)) };
}

export async function readSqliteSnapshot(path: string): Promise<SqliteSnapshot> {
  const sizeBytes = statSync(path).size;
  const wal = `${path}-wal`;
  const walBytes = existsSync(wal) ? statSync(wal).size : 0;
  // Loaded only when a file is to be read: most runs never need SQLite.
  // A literal import() where the bin lends none: the single executable's bundle carries sql.js.
  const host = hostImport();
  const { default: initSqlJs } = (host ? await host('sql.js') : await import('sql.js')) as typeof import('sql.js');
  const SQL = await initSqlJs(sqlJsConfig());
  const db = new SQL.Database(readWhole(path, sizeBytes));
  try {
    let names: string[];
    try {
      names = (db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values ?? []).map((v) => String(v[0]));
    } catch (e) {
      throw new Error(`cannot read the SQLite database ${path}: ${(e as Error).message}`);
    }
    const tables = names.map((name): SqliteTable => {
      try {
        return { name, rows: Number(db.exec(`SELECT count(*) FROM ${quoteSqliteIdent(name)}`)[0]!.values[0]![0]) };
      } catch (e) {
        // A virtual table whose module this SQLite build lacks, say.
        return { name, error: (e as Error).message };
      }
    });
    return { path, sizeBytes, walBytes, tables };
  } finally {
    db.close();
  }
}
