// The part of sql.js (SQLite compiled to WebAssembly) that pg-preflight uses; the package ships
// no types of its own.
declare module 'sql.js' {
  export interface QueryExecResult {
    columns: string[];
    values: (number | string | Uint8Array | null)[][];
  }
  export interface Database {
    exec(sql: string): QueryExecResult[];
    run(sql: string, params?: (number | string | Uint8Array | null)[]): Database;
    export(): Uint8Array;
    close(): void;
  }
  export interface SqlJsStatic {
    Database: new (data?: Uint8Array) => Database;
  }
  export default function initSqlJs(config?: Record<string, unknown>): Promise<SqlJsStatic>;
}
