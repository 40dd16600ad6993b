// A run's sessions, opened before the run knows it will need them: the CLI starts the login from
// a quick reading of its command line (src/cli/early-login.ts), sends the facts and starts the
// second session's login as soon as it is in, and only then loads the rest of itself, so that the
// server reads the facts while the client starts. The run takes the sessions only for the very
// target and limits it would have opened them for; otherwise they are closed, unread, before the
// run opens its own.
import type { DatabaseTarget } from './config/target.js';
import { openSession, type Session, type SessionLimits } from './connection.js';
import { readFacts, type FactsRead } from './facts.js';
import { openBeside, type BesideSession } from './beside-session.js';

/** What the run takes over: the first session, the facts read on it with the snapshot exported, maybe the second. */
export interface Opened {
  session: Session;
  facts: Promise<FactsRead>;
  /** Present when it was asked for; the run closes it when none of its checks reads beside. */
  beside?: BesideSession;
}

export interface SessionAhead {
  /** The sessions, when `target` and `limits` are those they were opened for and nothing took them before. */
  take(target: DatabaseTarget, limits: SessionLimits): Promise<Opened> | undefined;
  /**
   * Closes the sessions unless something took them, resolving once the server has ended them
   * (so that no check counts them as other clients): for a run that opens its own.
   */
  close(): Promise<void>;
  /** Closes them as `close` does without waiting for anything: for a command that ends without running. */
  discard(): void;
  /** Resolves once the first login is over (either way): the facts are then on their way. */
  loggedIn(): Promise<void>;
}

/** Equal when the run would open the same session: every field of both, passwords included, in memory only. */
function sameSession(a: { target: DatabaseTarget; limits: SessionLimits }, b: { target: DatabaseTarget; limits: SessionLimits }): boolean {
  return JSON.stringify([a.target, a.limits]) === JSON.stringify([b.target, b.limits]);
}

function closeAll(o: Opened, wait: boolean): Promise<unknown> {
  return Promise.all([o.beside?.close({ wait }), o.facts.catch(() => undefined).then(() => o.session.close({ wait }))]);
}

/**
 * Starts logging in to `target`; once in, sends the facts (the snapshot exported, as for a run of
 * one target) and, with `beside`, starts the second session's login.
 */
export function openAhead(target: DatabaseTarget, limits: SessionLimits, opts: { beside: boolean }): SessionAhead {
  const session = openSession(target, limits);
  const opening = session.then((s): Opened => {
    const facts = readFacts(s, { exportSnapshot: true });
    // Whoever claims the sessions sees a failure when it awaits the facts; until then it is nobody's.
    facts.catch(() => undefined);
    return { session: s, facts, ...(opts.beside ? { beside: openBeside(s.target ?? target, limits, s) } : {}) };
  });
  opening.catch(() => undefined);
  let state: 'open' | 'taken' | 'closed' = 'open';
  const closing = (wait: boolean): Promise<unknown> => {
    if (state !== 'open') return Promise.resolve();
    state = 'closed';
    return opening.then((o) => closeAll(o, wait), () => undefined);
  };
  return {
    take(wanted, wantedLimits) {
      if (state !== 'open' || !sameSession({ target, limits }, { target: wanted, limits: wantedLimits })) return undefined;
      state = 'taken';
      return opening;
    },
    // Rare (the quick reading took the command line otherwise than the parser did), and then
    // almost always the same server: worth waiting for its login to end it properly.
    close: async () => {
      await closing(true);
    },
    // The command is ending: a login still under way is not waited for (the process exit ends it).
    discard: () => void closing(false),
    loggedIn: () => session.then(() => undefined, () => undefined),
  };
}
