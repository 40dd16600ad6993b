// Reads of thousands of tables keep the server busy one relation after another, and on
// PostgreSQL 18 (io_method = worker, its default) each page not in shared buffers is a wait for
// an I/O worker. A second session reads half of them at the same time. 1,429 tables' maxima and
// sequences, right after check_postgres had filled shared buffers: 363 ms on one session and
// 183 ms on two on the embedded 18, 356 and 192 ms on Debian's 15 (with the pages cached: 238 and
// 138 ms, 302 and 175 ms). The runner offers such
// sessions to its checks (CheckContext.openReader) and closes them with the run; a check asks
// for one only when its reads are long enough to be worth a login.
import type { DatabaseTarget } from './config/target.js';
import { openSession, type Session, type SessionLimits } from './connection.js';
import { besideApplicationName } from './own-sessions.js';
import { inlineParams } from './query-batcher.js';
import type { QueryFn, ReaderSession } from './types.js';

export interface ReaderSessions {
  /** A new session, logged in; undefined when none can be had (a connection limit) or after close. */
  open(): Promise<ReaderSession | undefined>;
  /** Messages sent on every session opened so far. */
  roundTrips(): number;
  /**
   * Ends every session, and any still logging in as soon as it is in; with `wait`, resolves once
   * the server has closed them (RunOptions.closeWaits).
   */
  close(opts?: { wait?: boolean }): Promise<void>;
}

/** What the readers share with the run's first session. */
export interface ReaderOrigin {
  /** Its pid: the readers carry its name for the run's own sessions (own-sessions.ts). */
  firstPid: number;
  /** Its exported snapshot, which the readers then read too; null where there is none. */
  snapshot: string | null;
}

/** Sessions to `target` (the host the run connected to) with the run's limits. */
export function readerSessions(target: DatabaseTarget, limits: SessionLimits, origin: ReaderOrigin): ReaderSessions {
  const opened: Session[] = [];
  let closed = false;
  return {
    async open() {
      if (closed) return undefined;
      let session: Session;
      try {
        session = await openSession(target, limits, besideApplicationName(origin.firstPid));
      } catch {
        // Whatever keeps a second session out (max_connections, a role's CONNECTION LIMIT, a
        // pooler's limit) leaves the first one working: its reads go there.
        return undefined;
      }
      if (closed) {
        await session.close();
        return undefined;
      }
      opened.push(session);
      let begun = false;
      // The transaction begins with the first message, in its round trip.
      const query: QueryFn = (sql, params, opts) => {
        if (begun) return session.query(sql, params, opts);
        begun = true;
        return session.beginReadOnly(inlineParams(sql, params), opts, origin.snapshot ?? undefined);
      };
      return { query, roundTrips: () => session.roundTrips() };
    },
    roundTrips: () => opened.reduce((n, s) => n + s.roundTrips(), 0),
    async close(opts) {
      closed = true;
      await Promise.all(opened.map((s) => s.close(opts)));
    },
  };
}
