import { defineCheck } from '../../src/define-check.js';
import type { Finding, Setting, Status } from '../../src/types.js';
import { humanSize, roundRecommendation, settingBytes } from '../../src/units.js';
import { GB, hostMemory, isDefault, MAINTENANCE_CAP, SIZE_SETTINGS, WORK_MEM_FLOOR, worstCase, type Change, type Counts, type SizeName, type Values } from './analysis.js';
import { alterStep, applySteps, defaultNote, describeValue, unknownMemoryReason } from './wording.js';

export default defineCheck({
  id: 'memory-settings',
  title: 'Memory settings fit the database host',
  description:
    'shared_buffers, effective_cache_size, work_mem, maintenance_work_mem and autovacuum_work_mem against the memory of the database host (pgtune\'s rules of thumb), warning only on clear outliers.',
  docs: `The Synapse guide names five settings worth tuning for larger deployments: shared_buffers,
effective_cache_size, work_mem, maintenance_work_mem and autovacuum_work_mem, and notes that
the right values depend on the database host's memory. This check compares them with the
rules of thumb pgtune publishes (https://pgtune.leopard.in.ua, "web" profile):
  shared_buffers        about 25% of RAM
  effective_cache_size  about 75% of RAM (a planner hint; allocates nothing)
  maintenance_work_mem  about RAM/16, at most 2GB
  work_mem              (RAM - shared_buffers) / ((max_connections + max_worker_processes) * 3),
                        at least 4MB
It warns only on clear outliers: a value under a quarter of the rule (low_factor) on a host of
at least 8GB (large_host; smaller hosts often share memory with Synapse itself, so there it is
info), shared_buffers above half of RAM, effective_cache_size above RAM, and a worst case that
can exceed RAM: shared_buffers + max_connections x work_mem + autovacuum_max_workers x
(autovacuum_work_mem, or maintenance_work_mem when it is -1). That sum is a lower bound: one
query can use work_mem several times (once per sort or hash, hashes up to hash_mem_multiplier
times), so a total near RAM already invites the OOM killer.
Host memory: --db-host-memory 16GiB (or --set memory-settings.host_memory=16GiB); otherwise,
when the server is reached over a Unix socket or loopback, MemTotal from this machine's
/proc/meminfo (give the flag when the server runs in a container with less). Without either the
values are listed as info, marking those still at the compiled-in or initdb default.
Fix: the printed ALTER SYSTEM lines (as a superuser), then SELECT pg_reload_conf() for
settings that reload, and a restart for those read only at start (pg_settings.context =
postmaster, e.g. shared_buffers). A larger shared_buffers also changes how many huge pages the
server needs (see the huge-pages check).`,
  params: {
    host_memory: {
      type: 'bytes',
      default: null,
      description: "the database host's memory (also --db-host-memory); unset: /proc/meminfo when the server is on this machine",
      flag: 'db-host-memory',
    },
    large_host: {
      type: 'bytes',
      default: 8 * GB,
      description: 'from this much memory up, a setting far under the rule of thumb is a warning (below, info)',
    },
    low_factor: {
      type: 'number',
      default: 4,
      description: 'a setting under the rule of thumb divided by this is an outlier',
    },
  },
  inputs: ['localHostMemory'],
  codes: {
    'within-rules-of-thumb': { status: 'ok', summary: 'The memory settings are within the usual rules of thumb for the host.' },
    'settings-hidden': { status: 'skipped', summary: 'pg_settings does not show the memory settings to this role.' },
    'host-memory-unknown': { status: 'info', summary: 'The database host\'s memory is unknown, so the settings are listed, not compared.', remediation: ['text'] },
    'outside-rules-of-thumb': { status: 'warning', otherStatuses: ['info'], summary: 'A memory setting is far from the usual rule of thumb for the host (info when the gap is small).', remediation: ['sql', 'text'] },
    'worst-case-over-memory': { status: 'warning', summary: 'shared_buffers plus every connection\'s work_mem and autovacuum\'s memory can exceed the host\'s memory.', remediation: ['sql', 'text'] },
  },
  async run(ctx) {
    const settings = ctx.facts.settings;
    const raw = Object.fromEntries(SIZE_SETTINGS.map((n) => [n, settings.get(n)])) as Record<SizeName, Setting | undefined>;
    const missing = SIZE_SETTINGS.filter((n) => !raw[n]);
    if (missing.length > 0) return { code: 'settings-hidden', status: 'skipped', message: `pg_settings does not show ${missing.join(', ')} to this role` };
    const s = raw as Record<SizeName, Setting>;
    const v: Values = {
      shared_buffers: settingBytes(s.shared_buffers)!,
      effective_cache_size: settingBytes(s.effective_cache_size)!,
      work_mem: settingBytes(s.work_mem)!,
      maintenance_work_mem: settingBytes(s.maintenance_work_mem)!,
      autovacuum_work_mem: settingBytes(s.autovacuum_work_mem),
    };
    const maxConn = settings.get('max_connections');
    const n: Counts = {
      maxConnections: Number(maxConn?.setting ?? 100),
      autovacuumWorkers: Number(settings.get('autovacuum_max_workers')?.setting ?? 3),
      workerProcesses: Number(settings.get('max_worker_processes')?.setting ?? 8),
    };
    const listing = [
      ...SIZE_SETTINGS.map((name) => describeValue(name, v, s[name])),
      `max_connections ${n.maxConnections}${maxConn ? defaultNote(maxConn) : ''}`,
    ];
    const current = Object.fromEntries(SIZE_SETTINGS.map((name) => [name, describeValue(name, v, s[name])]));

    const host = hostMemory(ctx);
    if (!host) {
      const defaults = [...SIZE_SETTINGS.map((name) => s[name]), ...(maxConn ? [maxConn] : [])].filter(isDefault).map((x) => x.name);
      return {
        code: 'host-memory-unknown', status: 'info',
        message: `the database host's memory is unknown (${unknownMemoryReason(ctx)}), so these are not compared with it: ${listing.join(', ')}. Give it with --db-host-memory 16GiB (or --set memory-settings.host_memory=16GiB).`,
        details: { hostMemory: null, settings: current, stillDefault: defaults },
        remediation: [
          {
            kind: 'text',
            text: `Run pg-preflight again with --db-host-memory set to the database host's RAM (e.g. --db-host-memory 16GiB) to compare these with the usual rules of thumb.${defaults.length ? ` Still at their defaults: ${defaults.join(', ')}.` : ''}`,
          },
        ],
      };
    }

    const ram = host.bytes;
    const lowFactor = Number(ctx.params.low_factor);
    const large = ram >= Number(ctx.params.large_host);
    const rec = {
      shared_buffers: roundRecommendation(ram / 4),
      effective_cache_size: roundRecommendation((ram * 3) / 4),
      maintenance_work_mem: roundRecommendation(Math.min(ram / 16, MAINTENANCE_CAP)),
    };
    const target: Values = { ...v };
    const outliers: { name: SizeName; status: Status; text: string }[] = [];
    const ramText = humanSize(ram);
    const low = (name: 'shared_buffers' | 'effective_cache_size' | 'maintenance_work_mem', rule: string, why: string) => {
      if (v[name] >= rec[name] / lowFactor) return;
      target[name] = rec[name];
      outliers.push({
        name,
        status: large ? 'warning' : 'info',
        text: `${name} is ${humanSize(v[name])}${defaultNote(s[name])} on a ${ramText} host, under a ${lowFactor === 4 ? 'quarter' : `1/${lowFactor}`} of the ${humanSize(rec[name])} ${rule} suggests: ${why}`,
      });
    };
    if (v.shared_buffers > ram / 2) {
      target.shared_buffers = rec.shared_buffers;
      outliers.push({
        name: 'shared_buffers',
        status: 'warning',
        text: `shared_buffers is ${humanSize(v.shared_buffers)}, more than half of the ${ramText} host: too little is left for connections, autovacuum and the OS cache PostgreSQL also reads through; about ${humanSize(rec.shared_buffers)} (25%) is the usual start`,
      });
    } else {
      low('shared_buffers', 'the usual rule (25% of RAM)', 'far less of the database stays in PostgreSQL\'s own cache');
    }
    if (v.effective_cache_size > ram) {
      target.effective_cache_size = rec.effective_cache_size;
      outliers.push({
        name: 'effective_cache_size',
        status: 'warning',
        text: `effective_cache_size is ${humanSize(v.effective_cache_size)}, more than the host's ${ramText}: the planner counts on cache that does not exist; about ${humanSize(rec.effective_cache_size)} (75% of RAM) is the usual value`,
      });
    } else {
      low('effective_cache_size', 'the usual rule (75% of RAM)', 'the planner underrates the OS cache and shies away from index scans');
    }
    low('maintenance_work_mem', 'the usual rule (RAM/16, at most 2GB)', 'VACUUM and CREATE INDEX, which Synapse\'s background updates run, take longer');

    // work_mem as pgtune derives it, from the shared_buffers the server will have after the fix.
    const recWorkMem = roundRecommendation(Math.max(WORK_MEM_FLOOR, (ram - target.shared_buffers) / ((n.maxConnections + n.workerProcesses) * 3)));
    const totalChanges: SizeName[] = [];
    const before = worstCase(v, n);
    let totalText: string | undefined;
    if (worstCase(target, n) > ram) {
      if (target.work_mem > recWorkMem) {
        target.work_mem = recWorkMem;
        totalChanges.push('work_mem');
      }
      const autovacuumMem = target.autovacuum_work_mem ?? target.maintenance_work_mem;
      if (autovacuumMem > rec.maintenance_work_mem) {
        target.autovacuum_work_mem = rec.maintenance_work_mem;
        totalChanges.push('autovacuum_work_mem');
      }
      const after = worstCase(target, n);
      const av = v.autovacuum_work_mem === undefined ? 'maintenance_work_mem' : 'autovacuum_work_mem';
      totalText =
        `shared_buffers + max_connections x work_mem + autovacuum_max_workers x ${av} = ${humanSize(v.shared_buffers)} + ${n.maxConnections} x ${humanSize(v.work_mem)} + ${n.autovacuumWorkers} x ${humanSize(v.autovacuum_work_mem ?? v.maintenance_work_mem)} = ${humanSize(before)}, more than the host's ${ramText}, and one query can use work_mem several times: busy moments end in the OOM killer` +
        (totalChanges.length ? `; ${totalChanges.map((c) => `${c} ${humanSize(target[c] as number)}`).join(' and ')} bring${totalChanges.length === 1 ? 's' : ''} it to ${humanSize(after)}` : '');
      if (after > ram) {
        const fits = Math.max(0, Math.floor((ram - target.shared_buffers - n.autovacuumWorkers * (target.autovacuum_work_mem ?? target.maintenance_work_mem)) / target.work_mem));
        totalText += `; it still exceeds RAM with ${n.maxConnections} connections: at most about ${fits} fit (max_connections needs a restart; Synapse opens up to cp_max, default 10, per process)`;
      }
    }

    const details = {
      hostMemory: humanSize(ram),
      hostMemorySource: host.source,
      settings: current,
      suggested: {
        shared_buffers: humanSize(rec.shared_buffers),
        effective_cache_size: humanSize(rec.effective_cache_size),
        work_mem: humanSize(recWorkMem),
        maintenance_work_mem: humanSize(rec.maintenance_work_mem),
      },
      maxConnections: n.maxConnections,
      worstCase: humanSize(before),
    };
    const findings: Finding[] = [];
    const changeOf = (name: SizeName): Change => ({ name, value: target[name] as number, context: s[name].context });
    const allChanges: Change[] = [];
    if (outliers.length > 0) {
      const changes = [...new Set(outliers.map((o) => o.name))].map(changeOf);
      allChanges.push(...changes);
      findings.push({
        code: 'outside-rules-of-thumb', status: outliers.some((o) => o.status === 'warning') ? 'warning' : 'info',
        message: outliers.map((o) => o.text).join('; '),
        details,
        remediation: changes.map(alterStep),
      });
    }
    if (totalText) {
      const changes = totalChanges.filter((c) => !allChanges.some((a) => a.name === c)).map(changeOf);
      allChanges.push(...changes);
      findings.push({ code: 'worst-case-over-memory', status: 'warning', message: totalText, details, remediation: changes.map(alterStep) });
    }
    if (findings.length === 0) {
      return {
        code: 'within-rules-of-thumb', status: 'ok',
        message: `${listing.join(', ')}: within the usual rules of thumb for a ${ramText} host (${host.source})`,
        details,
      };
    }
    // The reload and the restart once, after every ALTER SYSTEM line.
    const last = [...findings].reverse().find((f) => (f.remediation ?? []).length > 0);
    last?.remediation?.push(...applySteps(allChanges));
    for (const f of findings) f.message += ` (host memory ${ramText}: ${host.source})`;
    return findings;
  },
});
