// Round trips are what a pre-start check pays for on a network (20 ms each between a homeserver
// and its database is common). The built-in checks run concurrently, each with the plain
// ctx.query; this batcher collects the queries they have issued by the time the event loop is
// idle and sends them as one multi-statement message, handing each check its own rows. A full
// check then costs the depth of its longest chain of dependent queries, not their number. A read
// two checks send alike in one round (the catalog of sequences) runs once for both.
//
// One failing statement aborts the rest of a message and the transaction, so a failed batch is
// rolled back to its savepoint and its queries are sent again one by one, each under a
// savepoint of its own: a failing query fails only its own check, with its own error, and the
// transaction is never left aborted for the others.
import utils from 'pg/lib/utils.js';
import { quoteLiteral } from './quote.js';
import type { QueryFn, QueryOptions } from './types.js';

/** Sends one message and returns every statement's rows, in order (pg's multi-result array). */
export type SendFn = (sql: string, opts: QueryOptions) => Promise<Record<string, unknown>[][]>;

interface Pending {
  sql: string;
  opts: QueryOptions;
  resolve(rows: Record<string, unknown>[]): void;
  reject(err: unknown): void;
}

/** One Pending that answers several callers: a shareable read sent twice in one round. */
function answeringAlso(p: Pending, resolve: Pending['resolve'], reject: Pending['reject']): void {
  const [first, failed] = [p.resolve, p.reject];
  p.resolve = (rows) => {
    first(rows);
    resolve(rows);
  };
  p.reject = (err) => {
    failed(err);
    reject(err);
  };
}

const BATCH_SAVEPOINT = 'pg_preflight_batch';
const QUERY_SAVEPOINT = 'pg_preflight_query';
const MARKER = 'pg_preflight_marker';

/** A value as a literal of unknown type: node-postgres sends parameters untyped too, so the server resolves both the same way. */
export function literalOf(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' || typeof value === 'bigint') return quoteLiteral(String(value));
  // Arrays, dates, buffers and objects become the text node-postgres would have sent.
  const text = utils.prepareValue(value);
  return text === null ? 'NULL' : quoteLiteral(String(text));
}

/**
 * One token of SQL text, in the order they are tried: a quoted string, a quoted identifier, a
 * line comment, a block comment, a parameter ($1), the opening of a dollar quote ($tag$), a run of
 * ordinary characters, any other single character. Sticky, so that one pass reads the text once
 * (a slice per character made this 2-3 ms of every check: the catalog queries are kilobytes).
 */
const TOKEN = /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|\$(\d+)|\$([A-Za-z_][A-Za-z0-9_]*)?\$|[^'"$/-]+|[\s\S]/y;

/**
 * `sql` with $1, $2 ... replaced by literals of `params`. Quoted strings, quoted identifiers,
 * dollar-quoted bodies and comments are copied as they are.
 */
export function inlineParams(sql: string, params: readonly unknown[] | undefined): string {
  if (!params || params.length === 0) return sql;
  let out = '';
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < sql.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(sql)!;
    if (m[1] !== undefined) {
      const n = Number(m[1]);
      if (n < 1 || n > params.length) throw new Error(`query has $${n} but ${params.length} parameters`);
      out += literalOf(params[n - 1]);
    } else if (m[0].length > 1 && m[0].startsWith('$') && m[0].endsWith('$')) {
      // A dollar quote: copied up to and with its closing tag (or to the end, as the server reads it).
      const end = sql.indexOf(m[0], TOKEN.lastIndex);
      const stop = end < 0 ? sql.length : end + m[0].length;
      out += sql.slice(at, stop);
      TOKEN.lastIndex = stop;
    } else out += m[0];
  }
  return out;
}

export interface QueryBatcher {
  query: QueryFn;
}

/**
 * A QueryFn that batches. `send` runs a message and returns the rows of each statement;
 * statements of one query are told apart from the next query's by marker rows.
 */
export function createQueryBatcher(send: SendFn): QueryBatcher {
  let queue: Pending[] = [];
  let scheduled = false;
  let chain: Promise<void> = Promise.resolve();

  const one = async (p: Pending, guarded: boolean): Promise<void> => {
    const sql = guarded ? `SAVEPOINT ${QUERY_SAVEPOINT};\n${p.sql};\nRELEASE SAVEPOINT ${QUERY_SAVEPOINT}` : p.sql;
    try {
      p.resolve((await send(sql, p.opts)).flat());
    } catch (err) {
      if (guarded) await send(`ROLLBACK TO SAVEPOINT ${QUERY_SAVEPOINT}; RELEASE SAVEPOINT ${QUERY_SAVEPOINT}`, {}).catch(() => undefined);
      p.reject(err);
    }
  };

  const flush = async (batch: Pending[]): Promise<void> => {
    if (batch.length === 1) return one(batch[0]!, true);
    const parts = [`SAVEPOINT ${BATCH_SAVEPOINT}`];
    batch.forEach((p, k) => parts.push(p.sql, `SELECT ${k} AS ${MARKER}`));
    parts.push(`RELEASE SAVEPOINT ${BATCH_SAVEPOINT}`);
    const statements = batch.reduce((n, p) => n + Math.max(1, p.opts.statements ?? 1), 0);
    let results: Record<string, unknown>[][];
    try {
      results = await send(parts.join(';\n'), { statements, purpose: batch.map((p) => p.opts.purpose).filter(Boolean).join('; ') || undefined });
    } catch {
      // Which statement failed is not said; each query again on its own tells its check exactly.
      await send(`ROLLBACK TO SAVEPOINT ${BATCH_SAVEPOINT}; RELEASE SAVEPOINT ${BATCH_SAVEPOINT}`, {}).catch(() => undefined);
      for (const p of batch) await one(p, true);
      return;
    }
    let k = 0;
    let rows: Record<string, unknown>[] = [];
    // results[0] is the savepoint's; the last the release's.
    for (const result of results.slice(1, -1)) {
      if (result.length === 1 && MARKER in result[0]!) {
        batch[k++]!.resolve(rows);
        rows = [];
      } else rows.push(...result);
    }
  };

  const query = (<R extends Record<string, unknown>>(sql: string, params?: unknown[], opts: QueryOptions = {}): Promise<R[]> =>
    new Promise<R[]>((resolve, reject) => {
      let text: string;
      try {
        text = inlineParams(sql, params);
      } catch (err) {
        reject(err);
        return;
      }
      // Two checks reading the same catalog in the same snapshot: one statement, the same rows.
      const twin = opts.shareable ? queue.find((p) => p.opts.shareable && p.sql === text) : undefined;
      if (twin) {
        answeringAlso(twin, resolve as Pending['resolve'], reject);
        return;
      }
      queue.push({ sql: text, opts, resolve: resolve as Pending['resolve'], reject });
      if (scheduled) return;
      scheduled = true;
      // Once every check that is ready has issued its query: after the pending I/O callbacks.
      setImmediate(() => {
        scheduled = false;
        const batch = queue;
        queue = [];
        chain = chain.then(() => flush(batch));
      });
    })) as QueryFn;

  return { query };
}
