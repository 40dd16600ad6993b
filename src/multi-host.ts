// Several hosts in one connection string (`host=a,b port=5432,5433`, `postgresql://a,b/db`), as
// Patroni, repmgr and Stolon setups write them: tried the way libpq's PQconnectPoll tries them, so
// that pg-preflight checks the server Synapse would get, and says why it passed the others over.
//
// What libpq does (fe-connect.c), and so what this does:
// - hosts in the order given, or shuffled once for load_balance_hosts=random (libpq 16+);
// - a host that cannot be reached (refused, no socket, a name that does not resolve, no route,
//   connect_timeout elapsed, which counts per host) or that answers 57P03 "cannot connect now" is
//   passed over for the next;
// - any other failure (authentication, a missing database, too many clients, SSL, a connection
//   closed during login) ends the attempt: libpq does not try the remaining hosts;
// - after login, target_session_attrs other than `any` checks the server (in_hot_standby and
//   default_transaction_read_only from ParameterStatus on 14+, else a query) and moves on when it
//   is the wrong kind; prefer-standby makes a second pass that takes any server.
import type { DatabaseTarget, HostEndpoint, HostSlot } from './config/target.js';
import type { OpenedClient, SessionLimits } from './connection-types.js';
import { rankedDiagnosis } from './connection-errors.js';
import { endpointText } from './connection-diagnosis/endpoint.js';
import { EXIT, PreflightError } from './errors.js';
import type { Remediation } from './types.js';

export type { HostEndpoint };

export interface PassedOverHost extends HostEndpoint {
  /** A diagnosis code (`connect-refused`, `connect-timeout` ...) or `host-read-only`, `host-standby` ... */
  code: string;
  reason: string;
}

export interface HostChoice {
  /** The host the session is on, and why that one. */
  connectedTo: HostEndpoint & { why: string };
  /** Every other host tried before it, with the reason it was not taken. */
  passedOver: PassedOverHost[];
}

export interface ChosenHost {
  opened: OpenedClient;
  /** The target with the chosen host as its host and port: what checks and messages name. */
  target: DatabaseTarget;
  choice: HostChoice;
  /** Statements sent to judge the chosen server (before PostgreSQL 14). */
  roundTrips: number;
}

type Attrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';
type Want = Exclude<Attrs, 'prefer-standby'>;

export function hasSeveralHosts(target: DatabaseTarget): boolean {
  return (target.connection.hosts?.length ?? 1) > 1;
}

/**
 * The order libpq tries the hosts in: as given, or for load_balance_hosts=random shuffled once
 * with the "inside-out" Fisher-Yates shuffle libpq uses (pqConnectOptions2). libpq also shuffles
 * the addresses one name resolves to; the driver dials the first address it gets.
 */
export function hostOrder(slots: HostSlot[], loadBalanceHosts: string | undefined, random: () => number = Math.random): HostSlot[] {
  const out = [...slots];
  if (loadBalanceHosts !== 'random') return out;
  for (let i = 1; i < out.length; i++) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The target as it is for one host: the address to dial, and the password libpq would use there. */
export function targetForHost(target: DatabaseTarget, slot: HostSlot): DatabaseTarget {
  const c = target.connection;
  const isFirst = slot === c.hosts?.[0];
  // A password from the password file is looked up per host; any other password serves them all.
  const password = isFirst || c.passwordSource !== 'pgpass' ? c.password : slot.password;
  return {
    ...target,
    connection: { ...c, host: slot.hostaddr ?? slot.host, port: slot.port, password, passwordSource: password === undefined ? undefined : c.passwordSource },
  };
}

function endpointOf(t: DatabaseTarget): HostEndpoint {
  return { host: t.connection.host, port: t.connection.port };
}

/** Failures after which libpq moves on to the next host: the connect() itself, name resolution, the timeout, 57P03. */
const NEXT_HOST_ERRNOS = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'EACCES']);

function libpqTriesNextHost(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code === '57P03' || (code !== undefined && NEXT_HOST_ERRNOS.has(code))) return true;
  return /timeout expired|Connection terminated due to connection timeout/i.test(message ?? '');
}

/** The few words a passed-over host gets in a report; anything unusual keeps its whole diagnosis. */
function shortReason(error: PreflightError, limits: SessionLimits): string {
  switch (error.code) {
    case 'connect-refused': return 'connection refused: nothing listens there';
    case 'connect-no-socket': return 'no PostgreSQL socket there';
    case 'connect-unknown-host': return 'the host name does not resolve';
    case 'connect-unreachable': return 'no route to the host';
    case 'connect-timeout': return `no answer within ${limits.connectTimeoutMs / 1000} s (the connect timeout, which counts per host as in libpq)`;
    case 'connect-starting': return 'not accepting connections yet: starting up, shutting down or in recovery (57P03)';
    default: return error.message;
  }
}

interface Verdict {
  /** Why libpq would refuse this server for `want`, with libpq's own words; undefined when it takes it. */
  refusal?: { code: string; reason: string };
  roundTrips: number;
}

/**
 * libpq's CONNECTION_CHECK_TARGET. From 14 the server announces in_hot_standby and
 * default_transaction_read_only at login; before, one query answers what libpq's
 * `SHOW transaction_read_only` or `SELECT pg_is_in_recovery()` would, and says which of the two
 * makes a session read-only.
 */
async function judge(opened: OpenedClient, want: Want): Promise<Verdict> {
  if (want === 'any') return { roundTrips: 0 };
  const hotStandby = opened.parameters.get('in_hot_standby');
  const defaultReadOnly = opened.parameters.get('default_transaction_read_only');
  let standby: boolean;
  let readOnly: boolean;
  let roundTrips = 0;
  if (hotStandby !== undefined && defaultReadOnly !== undefined) {
    standby = hotStandby === 'on';
    readOnly = standby || defaultReadOnly === 'on';
  } else {
    roundTrips = 1;
    const { rows } = await opened.client.query<{ read_only: string; in_recovery: boolean }>(
      "SELECT current_setting('transaction_read_only') AS read_only, pg_catalog.pg_is_in_recovery() AS in_recovery",
    );
    standby = rows[0]!.in_recovery;
    readOnly = rows[0]!.read_only === 'on';
  }
  const whyReadOnly = standby ? 'it is a standby (in recovery), so every session there is read-only' : 'its sessions start read-only (default_transaction_read_only is on)';
  switch (want) {
    case 'read-write':
      return { roundTrips, refusal: readOnly ? { code: 'host-read-only', reason: `read-only: ${whyReadOnly}; libpq says "session is read-only"` } : undefined };
    case 'read-only':
      return { roundTrips, refusal: readOnly ? undefined : { code: 'host-not-read-only', reason: 'read-write (a primary whose sessions are not read-only); libpq says "session is not read-only"' } };
    case 'primary':
      return { roundTrips, refusal: standby ? { code: 'host-standby', reason: 'a standby (in recovery); libpq says "server is in hot standby mode"' } : undefined };
    case 'standby':
      return { roundTrips, refusal: standby ? undefined : { code: 'host-not-standby', reason: 'not a standby (a primary, not in recovery); libpq says "server is not in hot standby mode"' } };
  }
}

const WHY: Record<Want, string> = {
  any: 'the first host that accepted the connection',
  'read-write': 'the first host whose sessions are read-write (target_session_attrs=read-write)',
  'read-only': 'the first host whose sessions are read-only (target_session_attrs=read-only)',
  primary: 'the first host that is a primary, not in recovery (target_session_attrs=primary)',
  standby: 'the first host that is a standby, in recovery (target_session_attrs=standby)',
};

interface Attempt {
  slot: HostSlot;
  target: DatabaseTarget;
  code: string;
  reason: string;
  /** Set for a failed connection (not for a server of the wrong kind). */
  diagnosis?: { error: PreflightError; rank: number };
}

/** One entry per host, the latest reason winning (prefer-standby tries every host twice). */
function latestPerHost(attempts: Attempt[], except?: HostSlot): Attempt[] {
  const bySlot = new Map<HostSlot, Attempt>();
  for (const a of attempts) if (a.slot !== except) bySlot.set(a.slot, a);
  return [...bySlot.values()];
}

function passedOverOf(attempts: Attempt[], except?: HostSlot): PassedOverHost[] {
  return latestPerHost(attempts, except).map((a) => ({ ...endpointOf(a.target), code: a.code, reason: a.reason }));
}

function listText(attempts: Attempt[]): string {
  return attempts.map((a) => `${endpointText(a.target)}: ${a.reason}`).join('; ');
}

/** libpq gave up at a failure it does not pass over: that host's diagnosis, with what came before and after. */
function stoppedError(target: DatabaseTarget, order: HostSlot[], attempts: Attempt[], last: Attempt): PreflightError {
  const d = last.diagnosis!.error;
  const index = order.indexOf(last.slot);
  const before = latestPerHost(attempts.slice(0, -1), last.slot);
  const untried = order.slice(index + 1).map((s) => endpointText(targetForHost(target, s)));
  const parts = [`${endpointText(last.target)} (host ${index + 1} of ${order.length}) failed, and after such a failure libpq tries no further host: ${d.message}`];
  if (before.length > 0) parts.push(`Passed over before it: ${listText(before)}`);
  if (untried.length > 0) parts.push(`Not tried: ${untried.join(', ')}`);
  return new PreflightError(parts.join('. '), EXIT.connection, d.code, d.remediation, { ...d.details, hosts: passedOverOf(attempts) });
}

function noSuitableHostSteps(attrs: Attrs): Remediation[] {
  return [
    {
      kind: 'text',
      text: `Every host answered, but none is the kind target_session_attrs=${attrs} asks for. Check the cluster's state (patronictl list, repmgr cluster show, stolonctl status): during a failover there may be no primary for a while, and --wait SECONDS keeps trying that long. Or list the host that has the role now, or change target_session_attrs under database.args.`,
    },
  ];
}

/** Every host failed or was the wrong kind: one error naming each, with the most specific diagnosis's fix. */
function noHostError(target: DatabaseTarget, order: HostSlot[], attempts: Attempt[], attrs: Attrs): PreflightError {
  const each = latestPerHost(attempts);
  const wanted = attrs === 'any' ? '' : `, for target_session_attrs=${attrs}`;
  const message = `none of the ${order.length} hosts would do (tried in order, as libpq does${wanted}): ${listText(each)}`;
  const best = each
    .filter((a) => a.diagnosis)
    .sort((a, b) => a.diagnosis!.rank - b.diagnosis!.rank)[0]?.diagnosis?.error;
  const hosts = passedOverOf(attempts);
  if (!best) return new PreflightError(message, EXIT.connection, 'connect-no-suitable-host', noSuitableHostSteps(attrs), { hosts });
  // The most specific diagnosis names its own host; its code keeps --wait's retry rules.
  return new PreflightError(`${message}. The fix below is for the most telling of these: ${best.message}`, EXIT.connection, best.code, best.remediation, { ...best.details, hosts });
}

/**
 * Logs in to the first host libpq would settle on. `connect` opens one host (with the sslmode
 * attempts) and throws what the driver threw; every client not kept is closed here.
 */
export async function chooseHost(
  target: DatabaseTarget,
  limits: SessionLimits,
  connect: (hostTarget: DatabaseTarget, limits: SessionLimits) => Promise<OpenedClient>,
  random?: () => number,
): Promise<ChosenHost> {
  const c = target.connection;
  const attrs = (c.targetSessionAttrs ?? 'any') as Attrs;
  const order = hostOrder(c.hosts ?? [], c.loadBalanceHosts, random);
  const passes: Want[] = attrs === 'prefer-standby' ? ['standby', 'any'] : [attrs];
  const attempts: Attempt[] = [];
  for (const [pass, want] of passes.entries()) {
    for (const slot of order) {
      const hostTarget = targetForHost(target, slot);
      let opened: OpenedClient;
      try {
        opened = await connect(hostTarget, limits);
      } catch (err) {
        const diagnosis = rankedDiagnosis(err, hostTarget, limits);
        attempts.push({ slot, target: hostTarget, code: diagnosis.error.code, reason: shortReason(diagnosis.error, limits), diagnosis });
        if (!libpqTriesNextHost(err)) throw stoppedError(target, order, attempts, attempts[attempts.length - 1]!);
        continue;
      }
      let verdict: Verdict;
      try {
        verdict = await judge(opened, want);
      } catch (err) {
        // libpq: a failed SHOW transaction_read_only / pg_is_in_recovery() moves on to the next host.
        await opened.client.end().catch(() => undefined);
        attempts.push({ slot, target: hostTarget, code: 'host-check-failed', reason: `could not tell what kind of server it is: ${(err as Error).message}` });
        continue;
      }
      if (verdict.refusal) {
        await opened.client.end().catch(() => undefined);
        attempts.push({ slot, target: hostTarget, ...verdict.refusal });
        continue;
      }
      const why =
        attrs === 'prefer-standby'
          ? pass === 0
            ? 'the first host that is a standby (target_session_attrs=prefer-standby)'
            : 'no standby took the connection, so the first host that did (target_session_attrs=prefer-standby: standbys first, then any server)'
          : WHY[want];
      return {
        opened,
        target: hostTarget,
        choice: { connectedTo: { ...endpointOf(hostTarget), why }, passedOver: passedOverOf(attempts, slot) },
        roundTrips: verdict.roundTrips,
      };
    }
  }
  throw noHostError(target, order, attempts, attrs);
}
