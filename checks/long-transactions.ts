import { notOwnSession } from '../src/own-sessions.js';
import { defineCheck } from '../src/define-check.js';
import { formatAge, formatDuration } from '../src/units.js';
import { quoteIdent, quoteLiteral } from '../src/quote.js';
import type { CheckContext, Finding, Remediation } from '../src/types.js';

interface Prepared {
  gid: string;
  owner: string;
  prepared: string;
  age: number;
}

interface Session {
  pid: number;
  user: string | null;
  application: string | null;
  client: string | null;
  state: string | null;
  xact_start: string;
  xact_age: number;
  idle_for: number | null;
  query_start: string | null;
  query: string | null;
}

interface Row extends Record<string, unknown> {
  prepared: Prepared[];
  sessions: Session[];
  hidden: number;
}

// Only this database: a transaction holds back VACUUM in the database it runs in (system catalogs
// shared by all databases aside). now() is the start of pg-preflight's own transaction, and
// pg_stat_activity is read once per transaction, so the two agree. Another role's sessions show
// their query as '<insufficient privilege>' and no state or backend_type unless we are in
// pg_read_all_stats; autovacuum workers look the same, but have no user.
const SQL = `
SELECT
  (SELECT coalesce(json_agg(json_build_object('gid', p.gid, 'owner', p.owner, 'prepared', p.prepared,
                                              'age', extract(epoch FROM now() - p.prepared)) ORDER BY p.prepared), '[]')
     FROM pg_prepared_xacts p
    WHERE p.database = current_database() AND extract(epoch FROM now() - p.prepared) > $1) AS prepared,
  (SELECT coalesce(json_agg(json_build_object('pid', a.pid, 'user', a.usename, 'application', a.application_name,
                                              'client', a.client_addr::text, 'state', a.state,
                                              'xact_start', a.xact_start, 'xact_age', extract(epoch FROM now() - a.xact_start),
                                              'idle_for', CASE WHEN a.state LIKE 'idle in transaction%' THEN extract(epoch FROM now() - a.state_change) END,
                                              'query_start', a.query_start,
                                              'query', CASE WHEN $4 THEN a.query END) ORDER BY a.xact_start), '[]')
     FROM pg_stat_activity a
    WHERE a.datname = current_database() AND ${notOwnSession('a')} AND a.backend_type = 'client backend'
      AND a.xact_start IS NOT NULL
      AND ((a.state LIKE 'idle in transaction%' AND extract(epoch FROM now() - a.state_change) > $2)
           OR extract(epoch FROM now() - a.xact_start) > $3)) AS sessions,
  (SELECT count(*)::int FROM pg_stat_activity a
    WHERE a.datname = current_database() AND ${notOwnSession('a')} AND a.query = '<insufficient privilege>'
      AND a.usename IS NOT NULL) AS hidden`;

function preparedFinding(p: Prepared, database: string): Finding {
  return {
    code: 'prepared-transaction-old', status: 'warning',
    object: `prepared ${p.gid}`,
    message: `prepared transaction ${quoteLiteral(p.gid)} (owner ${p.owner}) has waited ${formatAge(p.age)} for COMMIT PREPARED or ROLLBACK PREPARED: it keeps its locks and stops VACUUM from removing rows deleted since, and it survives restarts`,
    details: { gid: p.gid, owner: p.owner, prepared: p.prepared, ageSeconds: Math.round(p.age) },
    remediation: [
      {
        kind: 'sql',
        title: `Only when the program that prepared it will never finish it (Synapse never uses two-phase commit): discards its changes and releases its locks (COMMIT PREPARED keeps them instead). Run it in database ${database} as ${p.owner} or a superuser.`,
        text: `ROLLBACK PREPARED ${quoteLiteral(p.gid)};`,
      },
    ],
  };
}

function who(s: Session): string {
  const parts = [`user ${s.user ?? '?'}`];
  if (s.application) parts.push(`application "${s.application}"`);
  if (s.client) parts.push(`client ${s.client}`);
  return parts.join(', ');
}

function sessionFinding(s: Session): Finding {
  const idle = s.idle_for !== null;
  const what = idle
    ? `has been ${s.state} for ${formatAge(s.idle_for!)} (its transaction began ${formatAge(s.xact_age)} ago)`
    : `has run one transaction for ${formatAge(s.xact_age)} (${s.state ?? 'state unknown'}, current query started ${s.query_start})`;
  return {
    code: 'session-transaction-old', status: 'warning',
    object: `pid ${s.pid}`,
    message: `session ${s.pid} (${who(s)}) ${what}: it keeps its locks and stops VACUUM from removing rows deleted since it began${s.query ? `. Query: ${s.query}` : ''}`,
    details: {
      pid: s.pid,
      user: s.user,
      application: s.application,
      client: s.client,
      state: s.state,
      transactionStart: s.xact_start,
      transactionAgeSeconds: Math.round(s.xact_age),
      idleSeconds: s.idle_for === null ? null : Math.round(s.idle_for),
      queryStart: s.query_start,
      ...(s.query !== null ? { query: s.query } : {}),
    },
    remediation: [
      {
        kind: 'sql',
        title: `End session ${s.pid}: its transaction rolls back and its program sees a dropped connection (needs the same role, pg_signal_backend or a superuser)`,
        text: `SELECT pg_terminate_backend(${s.pid});`,
      },
    ],
  };
}

/** Sessions idle in a transaction get ended by the server after this long; one of the three is enough. */
function preventionSteps(ctx: CheckContext, users: string[]): Remediation[] {
  const duration = formatDuration(Number(ctx.params['max-idle-in-transaction']));
  const timeout = quoteLiteral(duration);
  return [
    {
      kind: 'sql',
      title: `Prevent it: the server then ends any new session of ${users.join(', ')} that sits idle in a transaction for more than ${duration} (Synapse keeps no transaction open while idle)`,
      text: users.map((u) => `ALTER ROLE ${quoteIdent(u)} SET idle_in_transaction_session_timeout = ${timeout};`).join('\n'),
    },
    {
      kind: 'sql',
      title: 'Or for every session of this database',
      text: `ALTER DATABASE ${quoteIdent(ctx.facts.database)} SET idle_in_transaction_session_timeout = ${timeout};`,
    },
    { kind: 'sql', title: 'Or for the whole server (then reload, as a separate statement)', text: `ALTER SYSTEM SET idle_in_transaction_session_timeout = ${timeout};` },
    { kind: 'sql', title: 'Reload the configuration after ALTER SYSTEM', text: 'SELECT pg_reload_conf();' },
  ];
}

export default defineCheck({
  id: 'long-transactions',
  title: 'No forgotten prepared transactions or long-open sessions',
  description: 'Prepared transactions, sessions idle in a transaction, and transactions open longer than a threshold, in this database.',
  docs: `Reads pg_prepared_xacts and pg_stat_activity for this database (pg-preflight's own session
left out). An open transaction keeps its locks, and VACUUM cannot remove any row deleted after it
began, in any table: tables and indexes bloat, and freezing toward wraparound stalls. A prepared
transaction (two-phase commit, PREPARE TRANSACTION) is worse: it outlives its session and server
restarts until someone commits or rolls it back. Synapse never prepares transactions, so one in
its database belongs to some other program or to a manual session.
- prepared longer than max-prepared-age: warning;
- a session idle in transaction longer than max-idle-in-transaction, or any transaction open
  longer than max-transaction-age: warning, with pid, user, application, client and ages. The
  query text is shown only with show-query=true, since it may hold personal data.
Sessions of other roles are visible only to superusers and members of pg_read_all_stats; how
many could not be inspected is said.
Fix: ROLLBACK PREPARED 'gid' once the program that prepared it is known never to finish it;
SELECT pg_terminate_backend(pid) for a session. To prevent it, idle_in_transaction_session_timeout
(ALTER ROLE, ALTER DATABASE or ALTER SYSTEM) makes the server end idle-in-transaction sessions.`,
  params: {
    'max-prepared-age': { type: 'duration', default: '5min', description: 'age of a prepared transaction before it is a warning' },
    'max-idle-in-transaction': {
      type: 'duration',
      default: '5min',
      description: 'time a session may sit idle inside a transaction before it is a warning (also the timeout the fix suggests)',
    },
    'max-transaction-age': { type: 'duration', default: '1h', description: 'age of any open transaction before it is a warning' },
    'show-query': { type: 'boolean', default: false, description: 'show the query text of the sessions found (it may hold personal data)' },
  },
  codes: {
    'no-long-transactions': { status: 'ok', summary: 'No prepared transaction or session open beyond the thresholds.' },
    'prepared-transaction-old': { status: 'warning', summary: 'A prepared transaction has waited too long for COMMIT PREPARED or ROLLBACK PREPARED.', remediation: ['sql', 'text'] },
    'session-transaction-old': { status: 'warning', summary: 'A session has held a transaction open too long.', remediation: ['sql', 'text'] },
    'sessions-hidden': { status: 'info', summary: 'Sessions of other roles are hidden from this role.' },
  },
  async run(ctx) {
    const p = ctx.params;
    const [row] = await ctx.query<Row>(SQL, [
      Number(p['max-prepared-age']),
      Number(p['max-idle-in-transaction']),
      Number(p['max-transaction-age']),
      p['show-query'] === true,
    ]);
    const prepared = row?.prepared ?? [];
    const sessions = row?.sessions ?? [];
    const hidden = row?.hidden ?? 0;
    const hiddenNote = hidden > 0 ? ` (${hidden} session${hidden > 1 ? 's' : ''} of other roles could not be inspected: membership in pg_read_all_stats shows them)` : '';
    if (prepared.length === 0 && sessions.length === 0) {
      return { code: 'no-long-transactions', status: 'ok', message: `no prepared transaction or session open beyond the thresholds${hiddenNote}`, details: { hiddenSessions: hidden } };
    }
    const findings: Finding[] = [
      ...prepared.map((x) => preparedFinding(x, ctx.facts.database)),
      ...sessions.map(sessionFinding),
    ];
    const idleUsers = [...new Set(sessions.filter((s) => s.idle_for !== null && s.user).map((s) => s.user!))];
    if (idleUsers.length > 0) findings[findings.length - 1]!.remediation!.push(...preventionSteps(ctx, idleUsers));
    if (sessions.some((s) => s.idle_for === null)) {
      findings[findings.length - 1]!.remediation!.push({
        kind: 'text',
        text: `A transaction that runs this long is often a stuck migration, report or backup: find out what it is (show-query=true shows its query) before ending it.${
          ctx.facts.major >= 17 ? ' PostgreSQL 17+ can cap any transaction with transaction_timeout.' : ''
        }`,
      });
    }
    if (hidden > 0) findings.push({ code: 'sessions-hidden', status: 'info', message: hiddenNote.trim().replace(/^\(|\)$/g, ''), details: { hiddenSessions: hidden } });
    return findings;
  },
});
