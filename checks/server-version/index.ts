import { defineCheck } from '../../src/define-check.js';
import { clientFlags } from '../../src/remediation/client-flags.js';
import { shellQuote } from '../../src/quote.js';
import {
  CURRENT_SYNAPSE,
  PG_END_OF_LIFE,
  pgMinimumForRelease,
  releaseForSchema,
} from '../../src/synapse/releases.js';
import type { CheckContext, Finding, Remediation } from '../../src/types.js';

/** The floor the seed guide states; nothing older is worth checking further. */
const SEED_FLOOR = 10;

interface Requirement {
  major: number;
  rule: string;
  /** Error when a Synapse is known to use this database; a warning for other databases. */
  hard: boolean;
}

function requirement(ctx: CheckContext): Requirement {
  const { facts, options, target } = ctx;
  if (options.synapseVersion) {
    const min = pgMinimumForRelease(options.synapseVersion);
    if (min !== undefined) return { major: min, rule: `Synapse ${options.synapseVersion} (--synapse-version) requires PostgreSQL ${min} or later`, hard: true };
  }
  if (facts.synapseSchemaVersion !== undefined) {
    const release = releaseForSchema(facts.synapseSchemaVersion);
    const min = release ? pgMinimumForRelease(release) : undefined;
    if (release && min !== undefined) {
      const note = facts.synapseSchemaVersion === 88 ? ' (13 from 1.122, which kept schema 88)' : '';
      return {
        major: min,
        rule: `schema_version ${facts.synapseSchemaVersion} means Synapse ${release} or later has run on this database, and that release requires PostgreSQL ${min}${note}`,
        hard: true,
      };
    }
  }
  const min = pgMinimumForRelease(CURRENT_SYNAPSE)!;
  return {
    major: min,
    rule: `current Synapse (${CURRENT_SYNAPSE}) requires PostgreSQL ${min} or later`,
    hard: target.synapse !== undefined || facts.isSynapse,
  };
}

function upgradeSteps(ctx: CheckContext, toMajor: number): Remediation[] {
  const { target, facts } = ctx;
  const flags = clientFlags(target);
  const db = shellQuote(target.connection.database);
  const next = Math.max(toMajor, 17);
  return [
    {
      kind: 'text',
      text: `Stop Synapse and every worker (and other services using the server, e.g. MAS), and take a backup first. Data directories are per major version (e.g. /var/lib/postgresql/${facts.major}/main).`,
    },
    {
      kind: 'text',
      text: `On Debian/Ubuntu the whole cluster can be upgraded in place instead: install postgresql-${next}, then run "pg_upgradecluster ${facts.major} main" (it wraps pg_upgrade).`,
    },
    {
      kind: 'shell',
      title: `Any system: dump from the old server and restore into a new PostgreSQL ${next} cluster (new server's client tools)`,
      text: [
        `pg_dump ${flags} -Fc -f ${shellQuote(`${target.connection.database}.dump`)} ${db}`,
        `# against the new server:`,
        `createdb --encoding=UTF8 --locale=C --template=template0 --owner=${shellQuote(facts.owner)} ${db}`,
        `pg_restore --exit-on-error -d ${db} ${shellQuote(`${target.connection.database}.dump`)}`,
      ].join('\n'),
    },
  ];
}

function endOfLife(major: number, now: Date): string | undefined {
  const eol = PG_END_OF_LIFE[major];
  return eol && new Date(`${eol}T00:00:00Z`) <= now ? eol : undefined;
}

export default defineCheck({
  id: 'server-version',
  title: 'PostgreSQL server version',
  description: 'The server is new enough for the Synapse release that uses the database, and still supported upstream.',
  docs: `Reads server_version_num and compares it with three rules:
- below PostgreSQL 10 (the oldest version the Synapse PostgreSQL guide ever named) is an error;
- below the minimum of the Synapse release that uses this database is an error. That release
  comes from --synapse-version, else from schema_version.version in the database (the newest
  Synapse that has run on it), else the current Synapse minimum (PostgreSQL 14 since Synapse
  1.143.0). Synapse refuses to start with "Synapse requires PostgreSQL 14 or above.". For a
  database with no sign of Synapse (no schema_version table, no homeserver.yaml given), this
  rule is a warning;
- a major version past its upstream end of life is a warning: Synapse drops a PostgreSQL
  version in the releases after its end of life.
The guide this tool grew from says 10; Synapse's code says 14, and the code wins.
Fix: pg_upgradecluster (Debian), pg_upgrade, or dump and restore into a new cluster.`,
  codes: {
    'supported': { status: 'ok', summary: 'The server is new enough for the Synapse release and still supported.' },
    'below-floor': { status: 'error', summary: 'The server is older than PostgreSQL 10, which no supported Synapse runs on.', remediation: ['text', 'shell'] },
    'too-old': { status: 'error', otherStatuses: ['warning'], summary: 'The server is older than the Synapse release requires (a warning when no Synapse database is detected).', remediation: ['text', 'shell'] },
    'end-of-life': { status: 'warning', summary: 'The major version is past its upstream end of life.', remediation: ['text', 'shell'] },
  },
  async run(ctx) {
    const { facts } = ctx;
    const now = ctx.options.now instanceof Date ? ctx.options.now : new Date();
    const findings: Finding[] = [];
    const details = { version: facts.version, versionNum: facts.versionNum, synapseSchemaVersion: facts.synapseSchemaVersion };
    const req = requirement(ctx);
    if (facts.major < SEED_FLOOR) {
      findings.push({ code: 'below-floor', status: 'error', message: `PostgreSQL ${facts.version} is older than 10, which no supported Synapse runs on`, details, remediation: upgradeSteps(ctx, req.major) });
    } else if (facts.major < req.major) {
      findings.push({
        code: 'too-old', status: req.hard ? 'error' : 'warning',
        message: `PostgreSQL ${facts.version} is too old: ${req.rule}${req.hard ? '' : ' (no Synapse database detected, so this is a warning)'}`,
        details: { ...details, requiredMajor: req.major, rule: req.rule },
        remediation: upgradeSteps(ctx, req.major),
      });
    }
    const eol = endOfLife(facts.major, now);
    if (eol) {
      findings.push({
        code: 'end-of-life', status: 'warning',
        message: `PostgreSQL ${facts.major} reached its upstream end of life on ${eol}: no more security fixes, and Synapse drops such versions in its next releases`,
        details: { ...details, endOfLife: eol },
        remediation: findings.length > 0 ? [] : upgradeSteps(ctx, facts.major + 1),
      });
    }
    if (findings.length === 0) {
      findings.push({ code: 'supported', status: 'ok', message: `PostgreSQL ${facts.version} (${req.rule})`, details: { ...details, requiredMajor: req.major, rule: req.rule } });
    }
    return findings;
  },
});
