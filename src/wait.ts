// --wait: for container starts where the database comes up after the application. Readiness is a
// real login as the configured role into the configured database (not pg_isready, not a TCP
// probe), and only failures that the server coming up can cure are retried. Which failure is
// which comes from connection-errors.ts's diagnosis codes, so the two cannot disagree.
import { openSession, type Session, type SessionLimits } from './connection.js';
import { endpointText } from './connection-diagnosis/endpoint.js';
import { targetName, type DatabaseTarget } from './config/target.js';
import { EXIT, PreflightError } from './errors.js';

export interface WaitOptions {
  /** How long to keep trying, in all. */
  timeoutMs: number;
  /** Longest pause between attempts: pauses start at 250 ms and double up to this (default 1000). */
  intervalMs?: number;
  /** One line each time the reason for waiting changes, and one when the login finally works. */
  onNote?: (note: string) => void;
  /** Absolute end (Date.now() based); runChecks sets it once for all databases. Default: now + timeoutMs. */
  deadline?: number;
}

export const DEFAULT_WAIT_INTERVAL_MS = 1000;
const FIRST_PAUSE_MS = 250;
/** An attempt started just before the deadline still gets this long to connect. */
const LAST_ATTEMPT_MS = 250;

/**
 * Failures that go away when the server finishes starting: nothing listening yet, no socket yet,
 * a name that does not resolve yet (container DNS), no route yet, a proxy that resets the
 * connection while the backend is down (docker-proxy does), a login that times out, too many
 * clients, and 57P03 ("the database system is starting up" / "shutting down" / "not yet
 * accepting connections"). Also, with several hosts, every host answering but none of the kind
 * target_session_attrs asks for: during a failover there is no primary for a while. Authentication,
 * a missing role or database, SSL or locale problems are not among them: waiting cannot fix
 * those, so they fail at once.
 */
export const RETRYABLE_CONNECTION_CODES: ReadonlySet<string> = new Set([
  'connect-refused',
  'connect-no-socket',
  'connect-unknown-host',
  'connect-unreachable',
  'connect-reset',
  'connect-timeout',
  'connect-too-many',
  'connect-starting',
  'connect-no-suitable-host',
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => (ms / 1000).toFixed(1).replace(/\.0$/, '');

export function isRetryableConnectionError(err: unknown): err is PreflightError {
  return err instanceof PreflightError && RETRYABLE_CONNECTION_CODES.has(err.code);
}

/** openSession, retried with capped backoff until it logs in, fails for good, or time is up. */
export async function openSessionWaiting(target: DatabaseTarget, limits: SessionLimits, wait: WaitOptions): Promise<Session> {
  const start = Date.now();
  const deadline = wait.deadline ?? start + wait.timeoutMs;
  const cap = Math.max(1, wait.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS);
  let pause = Math.min(FIRST_PAUSE_MS, cap);
  let lastCode: string | undefined;
  let attempts = 0;
  for (;;) {
    const remaining = deadline - Date.now();
    // No attempt may outlast the deadline by more than a moment, whatever --connect-timeout says.
    const attemptLimits = { ...limits, connectTimeoutMs: Math.min(limits.connectTimeoutMs, Math.max(remaining, LAST_ATTEMPT_MS)) };
    attempts++;
    try {
      const session = await openSession(target, attemptLimits);
      // With several hosts, the one that took it.
      if (attempts > 1) wait.onNote?.(`${targetName(target)} at ${endpointText(session.target ?? target)} accepted the login after ${seconds(Date.now() - start)} s`);
      return session;
    } catch (err) {
      if (!isRetryableConnectionError(err)) throw err;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PreflightError(
          `still failing after waiting ${seconds(Date.now() - start)} s (--wait, ${attempts} attempt${attempts === 1 ? '' : 's'}): ${err.message}`,
          EXIT.connection,
          err.code,
          err.remediation,
          { ...err.details, waitedMs: Date.now() - start, attempts },
        );
      }
      if (err.code !== lastCode) {
        wait.onNote?.(`waiting for ${targetName(target)}: ${err.message}; trying again for up to ${Math.ceil(left / 1000)} s`);
        lastCode = err.code;
      }
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, cap);
    }
  }
}
