import { defineCheck } from '../src/define-check.js';
import { notOwnSession } from '../src/own-sessions.js';
import { argsYaml, sectionName, sectionPath, targetServerKey } from '../src/connection-diagnosis/synapse-args.js';
import type { Finding, Remediation, SynapsePool, SynapseProcess } from '../src/types.js';

// Twisted's adbapi.ConnectionPool class defaults, used when args has no cp_min / cp_max.
const TWISTED_CP_MIN = 3;
const TWISTED_CP_MAX = 5;

// pg-preflight's own sessions (own-sessions.ts) are gone when Synapse connects.
const IN_USE_SQL = `
SELECT count(*) FILTER (WHERE ${notOwnSession()}) AS in_use,
       count(*) FILTER (WHERE ${notOwnSession()} AND usename = $1) AS synapse_role
  FROM pg_stat_activity
 WHERE backend_type = 'client backend'`;

interface Counted {
  process: SynapseProcess;
  pool: SynapsePool;
  cpMin: number;
  cpMax: number;
}

function setting(ctx: { facts: { settings: Map<string, { setting: string }> } }, name: string): number {
  const v = ctx.facts.settings.get(name)?.setting;
  return v === undefined ? 0 : Number(v);
}

export default defineCheck({
  id: 'connection-budget',
  title: 'Connections Synapse will open fit max_connections',
  description: 'cp_max per pool per process (main and workers) plus a startup connection each, against the connections the server has free.',
  tags: ['synapse'],
  params: {
    'warn-percent': { type: 'number', default: 80, description: 'Warn when Synapse would take more than this share of the connections free for it' },
  },
  docs: `Every Synapse process (the main one and each worker) opens a connection pool per database:
up to cp_max connections (Twisted's default 5 when args has none), plus one connection at
startup for its schema checks. Workers share homeserver.yaml's database section unless their
own file replaces it (Synapse merges config files by top-level key).
The sum for this server is compared with what it has free for Synapse's role: max_connections
minus superuser_reserved_connections (and reserved_connections on PostgreSQL 16+) minus the
client connections other roles hold now (connections of Synapse's own role are taken to be a
running Synapse's, which a restart replaces). Over that is an error: logins fail with "too many
clients" or "remaining connection slots are reserved" once the pools fill up. Above warn-percent
(80%) is a warning.
Give the workers with --worker-config FILE (repeatable; each merged over --config as Synapse
does) or --workers N (N workers on the shared config).
Fix: lower cp_max (the printed value fits), or raise max_connections with ALTER SYSTEM and a
restart (the setting only changes at a restart). cp_min above cp_max is a note: Twisted's
ConnectionPool lowers cp_min to cp_max before it builds its thread pool (min(cp_min, cp_max)),
so Synapse starts, with a pool of at most cp_max connections; an unset cp_min
counts as 3, so cp_max 1 or 2 alone does it too. cp_min/cp_max directly under database: (not
under args:) are ignored by Synapse: an error.`,
  inputs: ['synapseProcesses'],
  codes: {
    'within-budget': { status: 'ok', summary: 'The connections Synapse will open fit in the free connection slots.' },
    'no-process-info': { status: 'skipped', summary: 'Nothing says how many connections Synapse will open.' },
    'pool-keys-misplaced': { status: 'error', summary: 'cp_* keys sit directly under database:, where the pool ignores them.', remediation: ['config'] },
    'cp-min-above-max': { status: 'info', summary: 'cp_min is above cp_max: Twisted lowers cp_min to cp_max, and Synapse starts.', remediation: ['config'] },
    'over-budget': { status: 'error', otherStatuses: ['warning'], summary: 'Synapse will open more connections than are free (a warning when it is close).', remediation: ['config', 'sql'] },
  },
  async run(ctx) {
    const { target, facts, inputs, params } = ctx;
    // The CLI resolved the main pools like the workers' (config and environment, not --dsn).
    const key = inputs.synapseProcesses?.[0]?.pools.find((p) => p.label === target.label)?.server ?? targetServerKey(target);
    const processes: SynapseProcess[] | undefined =
      inputs.synapseProcesses ??
      (target.synapse || facts.isSynapse ? [{ name: 'main', pools: [{ label: target.label, server: key, cpMin: target.synapse?.cpMin, cpMax: target.synapse?.cpMax }] }] : undefined);
    if (!processes) {
      return {
        code: 'no-process-info', status: 'skipped',
        message: 'nothing says how many connections Synapse will open: no homeserver.yaml (--config), no Synapse schema here, no --workers. Give --config (and --worker-config for each worker), or --workers 0 to count the main process with Twisted\'s defaults',
      };
    }
    const findings: Finding[] = [];
    const section = target.synapse?.section;
    if (section) {
      const misplaced = ['cp_min', 'cp_max'].filter((k) => k in section);
      if (misplaced.length > 0) {
        findings.push({
          code: 'pool-keys-misplaced', status: 'error',
          object: sectionName(target),
          message: `${misplaced.join(' and ')} ${misplaced.length > 1 ? 'sit' : 'sits'} directly under ${sectionName(target)}:, where Synapse ignores ${misplaced.length > 1 ? 'them' : 'it'}: the pool takes only cp_* keys under args, and falls back to Twisted's ${TWISTED_CP_MIN}/${TWISTED_CP_MAX}`,
          remediation: [
            {
              kind: 'config',
              title: `Move ${misplaced.length > 1 ? 'them' : 'it'} under args: in homeserver.yaml, and delete ${misplaced.join(', ')} from directly under ${sectionName(target)}:`,
              text: argsYaml(target, misplaced.map((k) => ({ key: k, value: section[k] as number }))),
            },
          ],
        });
      }
    }

    const counted: Counted[] = processes.flatMap((process) =>
      process.pools
        .filter((pool) => pool.server === key)
        .map((pool) => ({ process, pool, cpMin: pool.cpMin ?? TWISTED_CP_MIN, cpMax: pool.cpMax ?? TWISTED_CP_MAX })),
    );
    for (const c of counted.filter((x) => x.cpMin > x.cpMax)) {
      const where = c.pool.ownSection ? `${c.process.file} (${c.process.name}'s own ${sectionPath(c.pool.label).join('.')})` : 'homeserver.yaml';
      // The shared section is one finding, however many processes inherit it.
      if (!c.pool.ownSection && c.process !== processes[0]) continue;
      findings.push({
        // Twisted's ConnectionPool.__init__ clamps (self.min = min(self.min, self.max)) before its
        // ThreadPool could refuse "minimum is greater than maximum".
        code: 'cp-min-above-max', status: 'info',
        object: `${c.process.name}: ${sectionPath(c.pool.label).join('.')}`,
        message: `cp_min ${c.cpMin}${c.pool.cpMin === undefined ? ' (Twisted\'s default)' : ''} is above cp_max ${c.cpMax}${c.pool.cpMax === undefined ? ' (Twisted\'s default)' : ''} in ${where}: Twisted lowers cp_min to ${c.cpMax}, so Synapse starts with a pool of at most ${c.cpMax}`,
        remediation: [{ kind: 'config', title: `Say what Twisted does: cp_min no higher than cp_max in ${where}`, text: argsYaml(sectionPath(c.pool.label), [{ key: 'cp_min', value: c.cpMax }, { key: 'cp_max', value: c.cpMax }]) }],
      });
    }

    const synapseRole = (target.synapse?.args.user as string | undefined) ?? target.connection.user;
    const [row] = await ctx.query<{ in_use: string; synapse_role: string }>(IN_USE_SQL, [synapseRole]);
    const running = Number(row?.synapse_role ?? 0);
    const others = Number(row?.in_use ?? 0) - running;
    const maxConnections = setting(ctx, 'max_connections');
    const reserved = setting(ctx, 'superuser_reserved_connections') + (facts.major >= 16 ? setting(ctx, 'reserved_connections') : 0);
    const free = maxConnections - reserved - others;
    const demand = counted.reduce((n, c) => n + c.cpMax + 1, 0);
    const warnPercent = Number(params['warn-percent']);
    const comfortable = Math.floor((free * warnPercent) / 100);
    const perProcess = processes
      .map((p) => ({ name: p.name, pools: counted.filter((c) => c.process === p).map((c) => `${c.pool.label} cp_max ${c.cpMax}${c.pool.cpMax === undefined ? ' (default)' : ''} + 1`) }))
      .filter((p) => p.pools.length > 0);
    const breakdown = perProcess.map((p) => `${p.name}: ${p.pools.join(', ')}`).join('; ');
    const details = { demand, free, maxConnections, reserved, inUseByOthers: others, synapseRoleConnections: running, warnPercent, processes: perProcess };
    const arithmetic = `max_connections ${maxConnections} − ${reserved} reserved for superusers − ${others} held by other roles = ${free} free for ${synapseRole}`;
    const runningNote = running > 0 ? ` (${running} connections of ${synapseRole} open now are taken to be a running Synapse's, replaced when it restarts)` : '';

    if (demand > comfortable) {
      const pools = counted.length;
      const fitCpMax = Math.floor(comfortable / pools) - 1;
      const neededMax = Math.ceil(((demand + others) * 100) / warnPercent) + reserved;
      const remediation: Remediation[] = [];
      if (fitCpMax >= 1) {
        const groups = new Map<string, { title: string; path: string[]; cpMin: number }>();
        for (const c of counted) {
          const own = c.pool.ownSection;
          const id = own ? `${c.process.file}\u0000${c.pool.label}` : `main\u0000${c.pool.label}`;
          if (groups.has(id)) continue;
          groups.set(id, {
            title: own ? `and in worker file ${c.process.file}, whose own section replaces the shared one` : `Lower cp_max in homeserver.yaml (${pools} pools × (${fitCpMax} + 1) = ${pools * (fitCpMax + 1)} fits in ${comfortable})`,
            path: sectionPath(c.pool.label),
            cpMin: c.cpMin,
          });
        }
        for (const g of groups.values()) {
          const entries = [{ key: 'cp_max', value: fitCpMax }, ...(g.cpMin > fitCpMax ? [{ key: 'cp_min', value: fitCpMax }] : [])];
          remediation.push({ kind: 'config', title: g.title, text: argsYaml(g.path, entries) });
        }
      }
      remediation.push({
        kind: 'sql',
        title: `${remediation.length > 0 ? 'Or raise' : 'Raise'} max_connections (as a superuser), then restart PostgreSQL: the setting changes only at a restart (each connection costs some memory: check shared_buffers and work_mem fit)`,
        text: `ALTER SYSTEM SET max_connections = ${neededMax};`,
      });
      const over = demand > free;
      findings.push({
        code: 'over-budget', status: over ? 'error' : 'warning',
        message: over
          ? `Synapse will open up to ${demand} connections to this server (${breakdown}), but only ${free} are free: ${arithmetic}${runningNote}. Logins will fail with "too many clients" once the pools fill up`
          : `Synapse will open up to ${demand} connections to this server (${breakdown}): more than ${warnPercent}% of the ${free} free (${arithmetic})${runningNote}, leaving little room for psql, backups or another worker`,
        details,
        remediation,
      });
    } else {
      findings.push({ code: 'within-budget', status: 'ok', message: `Synapse will open up to ${demand} connections to this server (${breakdown}); ${free} are free (${arithmetic})${runningNote}`, details });
    }
    return findings;
  },
});
