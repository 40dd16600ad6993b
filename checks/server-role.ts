import { defineCheck } from '../src/define-check.js';
import { endpointText } from '../src/connection-diagnosis/endpoint.js';
import { quoteIdent } from '../src/quote.js';
import { formatAge, humanSize } from '../src/units.js';
import type { CheckContext, Finding, Remediation } from '../src/types.js';

// pg-preflight's own transaction is READ ONLY, so its transaction_read_only says nothing about
// the application's sessions. What they get at login is default_transaction_read_only as the
// session starts (pg_settings shows its value and which level set it, since we log in as the same
// role to the same database; the facts hold that row), forced on during recovery.
const ROLE_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       (SELECT json_agg(json_build_object('role', s.setrole <> 0, 'database', s.setdatabase <> 0, 'config', s.setconfig))
          FROM pg_db_role_setting s
         WHERE s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = session_user))
           AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))) AS levels,
       CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_age_seconds,
       CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint::text END AS unreplayed_bytes,
       CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff((SELECT latest_end_lsn FROM pg_stat_wal_receiver), pg_last_wal_replay_lsn())::bigint::text END AS behind_sender_bytes,
       (SELECT row_to_json(r) FROM pg_stat_wal_receiver r) AS receiver`;

/** Where the configuration file sets default_transaction_read_only (from the facts' pg_settings). */
type SourceFile = { file: string | null; line: number | null } | null;

interface RoleRow extends Record<string, unknown> {
  in_recovery: boolean;
  levels: { role: boolean; database: boolean; config: string[] | null }[] | null;
  replay_age_seconds: number | null;
  unreplayed_bytes: string | null;
  behind_sender_bytes: string | null;
  /** pg_stat_wal_receiver: sender_host/sender_port from 11; conninfo and the addresses only for superusers and pg_read_all_stats. */
  receiver: { status?: string | null; sender_host?: string | null; sender_port?: number | null; conninfo?: string | null } | null;
}

/** Where default_transaction_read_only can come from, highest priority first (PostgreSQL's own order). */
type Level = 'client' | 'database user' | 'user' | 'database' | 'global' | 'server';
const LEVELS: Level[] = ['client', 'database user', 'user', 'database', 'global', 'server'];
const SETTING = 'default_transaction_read_only';
const SYNAPSE_FAILS =
  'Synapse fails at start-up on its first write (prepare_database runs CREATE TABLE IF NOT EXISTS: "cannot execute CREATE TABLE in a read-only transaction")';

/** libpq's target_session_attrs values that ask for a read-only server or a standby. */
const WANTS_STANDBY = new Set(['standby', 'prefer-standby', 'read-only']);

/** PostgreSQL's parse_bool: on/off, true/false, yes/no, 1/0 and unique prefixes. */
function parseBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === '1' || (v.length > 0 && ('true'.startsWith(v) || 'yes'.startsWith(v)))) return true;
  if (v === 'of' || v === 'off' || v === '0' || (v.length > 0 && ('false'.startsWith(v) || 'no'.startsWith(v)))) return false;
  return undefined;
}

/** The value each pg_db_role_setting level gives default_transaction_read_only for this role and database. */
function levelValues(row: RoleRow): Map<Level, boolean> {
  const out = new Map<Level, boolean>();
  for (const l of row.levels ?? []) {
    const entry = (l.config ?? []).find((c) => c.startsWith(`${SETTING}=`));
    const value = entry === undefined ? undefined : parseBool(entry.slice(SETTING.length + 1));
    if (value === undefined) continue;
    out.set(l.role ? (l.database ? 'database user' : 'user') : l.database ? 'database' : 'global', value);
  }
  return out;
}

function levelOfSource(source: string): Level {
  if (source === 'client' || source === 'database user' || source === 'user' || source === 'database' || source === 'global') return source;
  return 'server';
}

/** The levels that say on, from the one that wins down to the first that says off: all must change. */
function readOnlyChain(top: Level, values: Map<Level, boolean>): { chain: Level[]; serverUnknown: boolean } {
  const chain: Level[] = [top];
  for (const level of LEVELS.slice(LEVELS.indexOf(top) + 1)) {
    if (level === 'server') return { chain, serverUnknown: top !== 'server' };
    const v = values.get(level);
    if (v === false) return { chain, serverUnknown: false };
    if (v === true) chain.push(level);
  }
  return { chain, serverUnknown: false };
}

function describeLevel(ctx: CheckContext, level: Level, file: SourceFile): string {
  const role = quoteIdent(ctx.facts.user);
  const db = quoteIdent(ctx.facts.database);
  switch (level) {
    case 'client':
      return `the connection's own options (-c ${SETTING}=on in the options keyword or PGOPTIONS)`;
    case 'database user':
      return `ALTER ROLE ${role} IN DATABASE ${db} SET ${SETTING}`;
    case 'user':
      return `ALTER ROLE ${role} SET ${SETTING}`;
    case 'database':
      return `ALTER DATABASE ${db} SET ${SETTING}`;
    case 'global':
      return `ALTER ROLE ALL SET ${SETTING}`;
    case 'server': {
      const source = ctx.facts.settings.get(SETTING)?.source ?? 'unknown';
      if (source === 'configuration file') {
        if (file?.file?.endsWith('postgresql.auto.conf')) return `ALTER SYSTEM (${file.file})`;
        if (file?.file) return `${file.file} line ${file.line}`;
        return 'a configuration file (postgresql.conf, or postgresql.auto.conf written by ALTER SYSTEM; only a superuser sees which)';
      }
      if (source === 'command line') return `the server's command line (postgres -c ${SETTING}=on)`;
      return `the server (source: ${source})`;
    }
  }
}

function resetSql(ctx: CheckContext, level: Level): string | undefined {
  const role = quoteIdent(ctx.facts.user);
  const db = quoteIdent(ctx.facts.database);
  switch (level) {
    case 'database user':
      return `ALTER ROLE ${role} IN DATABASE ${db} RESET ${SETTING};`;
    case 'user':
      return `ALTER ROLE ${role} RESET ${SETTING};`;
    case 'database':
      return `ALTER DATABASE ${db} RESET ${SETTING};`;
    case 'global':
      return `ALTER ROLE ALL RESET ${SETTING};`;
    default:
      return undefined;
  }
}

function readOnlyRemediation(ctx: CheckContext, chain: Level[], file: SourceFile, onStandby: boolean): Remediation[] {
  const steps: Remediation[] = [];
  const where = onStandby ? ' on the primary (these settings replicate)' : '';
  if (chain.includes('client')) {
    steps.push({
      kind: 'text',
      title: 'Remove it from the connection',
      text: `Delete -c ${SETTING}=on from options under database.args in homeserver.yaml (or from the --dsn, or PGOPTIONS).`,
    });
  }
  const resets = chain.map((l) => resetSql(ctx, l)).filter((s): s is string => s !== undefined);
  if (resets.length > 0) {
    // The session that runs the fix may be read-only by the same setting: READ WRITE overrides it.
    steps.push({
      kind: 'sql',
      title: `Remove the setting where it was made${where}; BEGIN READ WRITE because the session running this may be read-only too`,
      text: ['BEGIN READ WRITE;', ...resets, 'COMMIT;'].join('\n'),
    });
  }
  if (chain.includes('server')) {
    const source = ctx.facts.settings.get(SETTING)?.source;
    if (source === 'configuration file') {
      const auto = file?.file?.endsWith('postgresql.auto.conf');
      steps.push({
        kind: 'sql',
        title: auto
          ? `Undo the ALTER SYSTEM${where}; the reload applies it to new sessions`
          : `Override ${file?.file ? `${file.file} line ${file.line}` : 'postgresql.conf'}${where} (or delete that line there and reload); the reload applies it to new sessions`,
        text: `${auto ? `ALTER SYSTEM RESET ${SETTING};` : `ALTER SYSTEM SET ${SETTING} = off;`}\nSELECT pg_reload_conf();`,
      });
    } else {
      steps.push({
        kind: 'text',
        title: 'Change how the server is started',
        text: `Remove ${SETTING}=on from the server's start command (postgres -c, pg_ctl -o, or the service's options) and restart it.`,
      });
    }
  }
  return steps;
}

/** host:port of the server a standby streams from, as pg_stat_wal_receiver shows it. */
function senderOf(row: RoleRow): { host: string; port: number } | undefined {
  const r = row.receiver;
  if (r?.sender_host) return { host: r.sender_host, port: Number(r.sender_port) };
  // PostgreSQL 10 has no sender_host; its conninfo (superusers only) names the primary.
  const word = (key: string) => new RegExp(`(?:^|\\s)${key}=('(?:[^'\\\\]|\\\\.)*'|\\S+)`).exec(r?.conninfo ?? '')?.[1]?.replace(/^'|'$/g, '');
  const host = word('host') ?? word('hostaddr');
  return host ? { host, port: Number(word('port') ?? 5432) } : undefined;
}

function senderText(sender: { host: string; port: number } | undefined): string {
  if (!sender) return 'a server that pg_stat_wal_receiver shows only to superusers and members of pg_read_all_stats';
  return sender.host.startsWith('/') ? `the socket ${sender.host}, port ${sender.port}` : `${sender.host}:${sender.port}`;
}

function replayText(row: RoleRow): string {
  const parts: string[] = [];
  const status = row.receiver?.status;
  parts.push(status ? `WAL receiver ${status}` : 'no WAL receiver running (replaying from an archive, or disconnected)');
  parts.push(
    row.replay_age_seconds === null
      ? 'no transaction replayed since it started'
      : `the last replayed transaction committed ${formatAge(Math.max(row.replay_age_seconds, 0))} ago (this grows while the primary is idle, too)`,
  );
  if (row.unreplayed_bytes !== null) parts.push(`${humanSize(Number(row.unreplayed_bytes))} received but not yet replayed`);
  if (row.behind_sender_bytes !== null) parts.push(`${humanSize(Math.max(Number(row.behind_sender_bytes), 0))} behind the primary's last reported position`);
  return parts.join(', ');
}

export default defineCheck({
  id: 'server-role',
  title: 'The server is a writable primary',
  description: 'pg_is_in_recovery() and default_transaction_read_only for the role and database: Synapse must write.',
  codes: {
    'writable-primary': { status: 'ok', summary: 'A primary, and the role\'s sessions start read-write.' },
    standby: { status: 'error', summary: 'The server is a standby: Synapse\'s first write fails.', remediation: ['text'] },
    'standby-as-asked': { status: 'info', summary: 'A standby, as target_session_attrs asks: with its replay lag.' },
    'read-only-sessions': { status: 'error', summary: 'default_transaction_read_only is on for the role, the database or the server.', remediation: ['sql', 'text'] },
    'read-only-as-asked': { status: 'info', summary: 'Sessions start read-only, as target_session_attrs=read-only asks.' },
  },
  docs: `Synapse writes from its first statement at start-up (prepare_database runs CREATE TABLE IF
NOT EXISTS), so a server or session that only reads stops it with "cannot execute CREATE TABLE in
a read-only transaction".
- pg_is_in_recovery() true: the server is a hot standby (a replica named by mistake, or the old
  primary after a failover): error, naming the server it streams from (pg_stat_wal_receiver).
  Fix: point Synapse at the primary. When the target asks for a standby
  (target_session_attrs=standby, prefer-standby or read-only), it is info instead, with the
  replay lag: the age of the last replayed transaction, the WAL received but not replayed, and
  how far replay is behind the primary's last reported position.
- default_transaction_read_only on for the sessions of this role in this database: error,
  naming what sets it. pg-preflight logs in as the same role to the same database, so
  pg_settings shows the value those sessions start with and its source; pg_db_role_setting
  shows every level: ALTER ROLE ... IN DATABASE, ALTER ROLE, ALTER DATABASE, ALTER ROLE ALL;
  then the configuration files (ALTER SYSTEM's postgresql.auto.conf or postgresql.conf, which
  only a superuser can tell apart) and the server's command line. The fix resets every level
  that says on, down to the first that says off, inside BEGIN READ WRITE (the session running
  it may be read-only too); ALTER SYSTEM and a reload for the configuration files. With
  target_session_attrs=read-only it is info.
pg-preflight's own transaction is always READ ONLY, so its transaction_read_only says nothing.`,
  async run(ctx) {
    const [row] = await ctx.query<RoleRow>(ROLE_SQL);
    if (!row) throw new Error('the server role query returned no row');
    const attrs = ctx.target.connection.targetSessionAttrs?.toLowerCase();
    const wanted = attrs !== undefined && WANTS_STANDBY.has(attrs);
    const server = `${endpointText(ctx.target)} (database ${quoteIdent(ctx.facts.database)})`;
    const setting = ctx.facts.settings.get(SETTING);
    const readOnly = setting ? parseBool(setting.setting) === true : false;
    const findings: Finding[] = [];
    const sender = senderOf(row);
    const replay = {
      receiverStatus: row.receiver?.status ?? null,
      lastReplayAgeSeconds: row.replay_age_seconds,
      unreplayedBytes: row.unreplayed_bytes === null ? null : Number(row.unreplayed_bytes),
      behindSenderBytes: row.behind_sender_bytes === null ? null : Number(row.behind_sender_bytes),
    };

    if (row.in_recovery) {
      if (wanted) {
        findings.push({
          code: 'standby-as-asked', status: 'info',
          message: `${server} is a standby, as target_session_attrs=${attrs} asks: it replicates from ${senderText(sender)}; ${replayText(row)}. It only reads: not a database Synapse can run on.`,
          details: { inRecovery: true, targetSessionAttrs: attrs, primary: sender ?? null, replay },
        });
      } else {
        const refuses = attrs === 'read-write' || attrs === 'primary' ? ` libpq with target_session_attrs=${attrs} refuses this server, so Synapse's connection to it fails (pg-preflight connected anyway, to say why).` : '';
        findings.push({
          code: 'standby', status: 'error',
          message: `${server} is a standby (pg_is_in_recovery() is true: a replica named by mistake, or the old primary after a failover): every transaction there is read-only, and ${SYNAPSE_FAILS}. It replicates from ${senderText(sender)}.${refuses}`,
          details: { inRecovery: true, targetSessionAttrs: attrs ?? null, primary: sender ?? null, replay },
          remediation: [
            {
              kind: 'text',
              title: 'Point Synapse at the primary',
              text: `Set host and port under database.args in homeserver.yaml (or the --dsn) to the primary: this standby streams from ${senderText(sender)}${sender ? ' (its address as the standby sees it; if that is a standby too, follow the chain)' : ''}. After a failover, the primary is the server that was promoted.`,
            },
          ],
        });
      }
    }

    if (readOnly && setting) {
      const sourceFile: SourceFile = { file: setting.sourceFile ?? null, line: setting.sourceLine ?? null };
      const values = levelValues(row);
      const { chain, serverUnknown } = readOnlyChain(levelOfSource(setting.source), values);
      const by = chain.map((l) => describeLevel(ctx, l, sourceFile));
      const also = serverUnknown ? ' Whether the server-wide value is on as well is hidden under these: run the check again after the fix.' : '';
      const subject = `sessions of role ${quoteIdent(ctx.facts.user)} in database ${quoteIdent(ctx.facts.database)} on ${endpointText(ctx.target)} start read-only: ${SETTING} is on, set by ${by.join(', and under it by ')}`;
      const details = { defaultTransactionReadOnly: { value: setting.setting, source: setting.source, file: sourceFile.file, line: sourceFile.line }, levels: chain };
      if (attrs === 'read-only') {
        findings.push({ code: 'read-only-as-asked', status: 'info', message: `${subject}, as target_session_attrs=read-only asks. Synapse cannot run on a read-only session.`, details });
      } else {
        findings.push({
          code: 'read-only-sessions', status: 'error',
          object: ctx.facts.user,
          message: `${subject}: ${SYNAPSE_FAILS}.${also}`,
          details,
          remediation: readOnlyRemediation(ctx, chain, sourceFile, row.in_recovery),
        });
      }
    }

    if (findings.length > 0) return findings;
    return {
      code: 'writable-primary', status: 'ok',
      message: `${server} is a primary (not in recovery), and sessions of role ${quoteIdent(ctx.facts.user)} start read-write (${SETTING} off, from ${setting?.source ?? 'the default'})`,
      details: { inRecovery: false, defaultTransactionReadOnly: setting?.setting ?? null, targetSessionAttrs: attrs ?? null },
    };
  },
});
