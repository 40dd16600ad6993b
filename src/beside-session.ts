// A run's second session. On a fresh backend the checks' catalog reads are mostly the server
// looking up catalog entries for the first time, one statement after another; the longest of
// them (the catalog of sequences, about half of the second round trip on the Synapse-like
// fixture) runs faster beside the others on a second backend than after them on the first. The
// second session logs in while the first reads the facts, and reads the first's snapshot
// (pg_export_snapshot, SET TRANSACTION SNAPSHOT): every check still sees one state of the
// database. What says `beside` (QueryOptions) goes here; everything goes to the first session
// when there is no second: it could not log in (max_connections, a role's CONNECTION LIMIT), the
// snapshot could not be exported, or it was lost.
import type { DatabaseTarget } from './config/target.js';
import { beginStatements, openSession, type Session, type SessionLimits } from './connection.js';
import { PreflightError } from './errors.js';
import { besideApplicationName } from './own-sessions.js';
import type { SendFn } from './query-batcher.js';

export interface BesideSession {
  /** Sends one message on the second session (the first also begins its transaction), or on the first. */
  send: SendFn;
  /** Once the facts are in: the first session's snapshot to read, or null (the second is then closed). */
  share(snapshot: string | null): void;
  /** Messages the second session sent. */
  roundTrips(): number;
  /**
   * Ends it once it has answered the message it is on (one still logging in is closed when it is
   * in); later messages go to the first session. With `wait`, resolves once the server has ended
   * it (RunOptions.closeWaits).
   */
  close(opts?: { wait?: boolean }): Promise<void>;
}

/** Starts logging in a second session to `target` (the host `first` is on) at once. */
export function openBeside(target: DatabaseTarget, limits: SessionLimits, first: Session): BesideSession {
  let snapshot: string | null | undefined;
  let session: Session | undefined;
  let begun = false;
  let usable = true;
  let closed = false;
  /** The message the second session is answering, if any: closing waits for it. */
  let answering: Promise<unknown> = Promise.resolve();
  const opening = openSession(target, limits, besideApplicationName(first.pid)).then(
    (s) => {
      // Closed, or no snapshot to share, while it logged in: not needed any more.
      if (closed || snapshot === null) {
        void s.close();
        return undefined;
      }
      return (session = s);
    },
    () => undefined,
  );
  const onFirst: SendFn = (sql, opts) => first.queryEach(sql, opts);
  return {
    share(id) {
      snapshot = id;
      if (id === null && session) {
        void session.close();
        session = undefined;
      }
    },
    async send(sql, opts) {
      const second = snapshot && usable ? await opening : undefined;
      if (!second || !usable) return onFirst(sql, opts);
      if (begun) {
        try {
          const answer = second.queryEach(sql, opts);
          answering = answer.catch(() => undefined);
          return await answer;
        } catch (err) {
          if (!isLost(err)) throw err;
          // Lost mid-run: its messages stand alone (each a savepoint and its release), and the
          // first session reads the same snapshot.
          usable = false;
          return onFirst(sql, opts);
        }
      }
      begun = true;
      const prefix = beginStatements(second.serverVersionNum, snapshot!);
      try {
        const answer = second.queryEach([...prefix, sql].join(';\n'), opts);
        answering = answer.catch(() => undefined);
        return (await answer).slice(prefix.length);
      } catch {
        // Whatever failed (the snapshot import, or a query of the message), the transaction it
        // began is aborted: the first session takes this message and every one after it.
        usable = false;
        return onFirst(sql, opts);
      }
    },
    roundTrips: () => (begun ? (session?.roundTrips() ?? 0) : 0),
    async close(opts) {
      // What says beside from now on goes to the first session; what it is answering, it finishes.
      closed = true;
      usable = false;
      await answering;
      await session?.close(opts);
    },
  };
}

/** The connection went away (connection.ts throws that as a PreflightError): not the query's own error. */
function isLost(err: unknown): boolean {
  return err instanceof PreflightError;
}
