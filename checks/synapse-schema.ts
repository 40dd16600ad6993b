import { defineCheck } from '../src/define-check.js';
import {
  compareReleases,
  CURRENT_SYNAPSE,
  isKnownRelease,
  isReleaseNumber,
  releaseFacts,
  releaseForSchema,
  SERVER_NAME_FIRST_USER_SINCE,
  SYNAPSE_RELEASES,
  type SynapseRelease,
} from '../src/synapse/releases.js';
import type { CheckContext, Finding, SynapseProcess } from '../src/types.js';
import { canRun, compatAfter, oldestRunnable, serverNameRefusal, workerRefuses, type DbSchema } from './synapse-schema/rules.js';
import { readSchemaState, type SchemaState } from './synapse-schema/state.js';

// prepare_database.py's messages, word for word, so that a user can match them with the log.
const OUTDATED_SCHEMA_ON_WORKER_ERROR = (expected: number, got: number) =>
  `Expected database schema version ${expected} but got ${got}: run the main synapse process to upgrade the database schema before starting worker processes.`;
const EMPTY_DATABASE_ON_WORKER_ERROR = 'Uninitialised database: run the main synapse process to prepare the database schema before starting worker processes.';
const TOO_NEW = 'Cannot use this database as it is too new for the server to understand';

interface Release {
  version: string;
  /** The words naming it in messages: says when it is the default, not the user's. */
  label: string;
  row: SynapseRelease | undefined;
}

function releaseOf(ctx: CheckContext): Release {
  const given = ctx.options.synapseVersion?.trim().replace(/^v/, '');
  const version = given ?? CURRENT_SYNAPSE;
  const label = given ? `Synapse ${version}` : `Synapse ${version} (the newest release pg-preflight knows; give --synapse-version for yours)`;
  return { version, label, row: isKnownRelease(version) ? releaseFacts(version) : undefined };
}

/** The --worker-config processes (worker_app set) whose pool for this database's label reaches this server. */
function workersHere(ctx: CheckContext): SynapseProcess[] {
  const processes = ctx.inputs.synapseProcesses ?? [];
  // The main process's pools are the targets', resolved the way the workers' are.
  const key = processes[0]?.pools.find((p) => p.label === ctx.target.label)?.server;
  if (key === undefined) return [];
  return processes.slice(1).filter((p) => p.workerApp && p.pools.some((pool) => pool.label === ctx.target.label && pool.server === key));
}

function workerName(p: SynapseProcess): string {
  return p.file ? `${p.name} (${p.file})` : p.name;
}

/** "Synapse ≥ 1.151.0 (schema_version 94, compat 84)": what the database says has run on it. */
function upgradedBy(db: DbSchema): string {
  const newest = SYNAPSE_RELEASES[SYNAPSE_RELEASES.length - 1]!.schema;
  const writer = releaseForSchema(db.version);
  const who =
    db.version > newest ? `a Synapse newer than ${CURRENT_SYNAPSE}, the newest pg-preflight knows` : writer ? `Synapse ≥ ${writer}` : 'a Synapse before 1.0.0';
  return `${who} (schema_version ${db.version}${db.compat === null ? '' : `, compat ${db.compat}`})`;
}

function tooNewFinding(release: Release, row: SynapseRelease, db: DbSchema): Finding {
  const oldest = oldestRunnable(db);
  const rule =
    row.compat === null
      ? `releases before 1.37.0 refuse any schema_version above their own SCHEMA_VERSION (${row.schema})`
      : `its SCHEMA_VERSION ${row.schema} is below the database's compat version ${db.compat}`;
  const oldestText = oldest ? `the oldest release that can run on it is ${oldest.first}` : `no release up to ${CURRENT_SYNAPSE} can run on it`;
  return {
    code: 'schema-too-new', status: 'error',
    message: `${release.label} cannot run on this database: it was upgraded by ${upgradedBy(db)}; ${oldestText}. Synapse refuses to start with "${TOO_NEW}" (${rule})`,
    details: { release: release.version, schemaVersion: row.schema, database: db, oldestRelease: oldest?.first ?? null },
    remediation: [
      {
        kind: 'text',
        text: oldest
          ? `Start Synapse ${oldest.first} or later instead (e.g. pip install 'matrix-synapse==${oldest.first}', or the matrixdotorg/synapse:v${oldest.first} image). To go back further, restore the backup taken before the upgrade: a database never moves back below its compat version.`
          : `Start the Synapse release that upgraded it, or a newer one, and update pg-preflight to learn it; or restore the backup taken before that upgrade.`,
      },
    ],
  };
}

function workerFindings(release: Release, row: SynapseRelease, db: DbSchema | undefined, workers: SynapseProcess[]): Finding[] {
  // Every worker of the release decides the same; the version is the release's, not the worker's.
  const refusing = workerRefuses(release.version, row, db) === null ? [] : workers;
  if (refusing.length === 0) return [];
  const names = refusing.map(workerName).join(', ');
  const synapseSays = db ? OUTDATED_SCHEMA_ON_WORKER_ERROR(row.schema, db.version) : EMPTY_DATABASE_ON_WORKER_ERROR;
  const state = db ? `schema_version ${db.version} is ${db.version < row.schema ? 'below' : 'not'} its SCHEMA_VERSION ${row.schema}` : 'the database is empty (no schema_version row)';
  return [
    {
      code: 'worker-schema-outdated', status: 'error',
      message: `worker${refusing.length > 1 ? 's' : ''} ${names} cannot start with ${release.label}: ${state}; start the main process first. Synapse says "${synapseSays}"`,
      details: { release: release.version, schemaVersion: row.schema, database: db ?? null, workers: refusing.map((w) => ({ name: w.name, file: w.file ?? null, workerApp: w.workerApp })) },
      remediation: [
        {
          kind: 'text',
          text: `Start the main process with Synapse ${release.version} first and wait until it listens (it ${db ? 'upgrades the schema' : 'creates the schema'} before that), then start the workers.`,
        },
      ],
    },
  ];
}

function serverNameFinding(ctx: CheckContext, release: Release, users: SchemaState['users']): Finding | undefined {
  const synapse = ctx.target.synapse;
  if (!synapse?.serverName || !synapse.dataStores.includes('main')) return undefined;
  if (users.state === 'missing') return undefined;
  if (users.state === 'denied') {
    return { code: 'users-unreadable', status: 'info', message: `server_name not compared with the users: ${ctx.facts.user} may not read users (run pg-preflight as the database user Synapse uses)` };
  }
  const refusal = serverNameRefusal(release.version, synapse.serverName, users.value);
  if (!refusal) return undefined;
  const file = synapse.files[synapse.files.length - 1] ?? 'homeserver.yaml';
  // Releases before 1.20 printed it with a typo.
  const changed = compareReleases(release.version, SERVER_NAME_FIRST_USER_SINCE) < 0 ? 'changed' : 'change';
  const synapseSays = `Found users in database not native to ${synapse.serverName}! You cannot ${changed} a synapse server_name after it's been configured`;
  if (refusal.domain === undefined) {
    return {
      code: 'user-id-invalid', status: 'error',
      message: `user ${refusal.user} in users has no ":" and so no server name; Synapse fails on it with "Invalid ID" before it starts`,
      details: { serverName: synapse.serverName, user: refusal.user },
      remediation: [
        {
          kind: 'text',
          text: `Synapse never writes such a user id: find where the row came from (SELECT * FROM users WHERE name = ${JSON.stringify(refusal.user)}) and restore users from the backup taken before.`,
        },
      ],
    };
  }
  return {
    code: 'server-name-changed', status: 'error',
    message: `server_name changed: homeserver.yaml says ${synapse.serverName}, but the users in this database are on ${refusal.domain} (${refusal.user}). Synapse refuses to start with "${synapseSays}"`,
    details: { serverName: synapse.serverName, usersDomain: refusal.domain, user: refusal.user },
    remediation: [
      {
        kind: 'config',
        title: `In ${file}, set server_name back to the name this database's users were created with (a server_name cannot change: user, room and event ids contain it)`,
        text: `server_name: ${JSON.stringify(refusal.domain)}`,
      },
    ],
  };
}

function upgradeFinding(release: Release, row: SynapseRelease, db: DbSchema, pending: SchemaState['pendingUpdates']): Finding {
  const n = row.schema - db.version;
  const queued = pending.state === 'ok' && pending.value > 0 ? `; ${pending.value} background update${pending.value > 1 ? 's are' : ' is'} pending today (see synapse-background-updates), and the deltas usually queue more` : '';
  return {
    code: 'schema-upgrade', status: 'info',
    message: `${release.label} will upgrade the schema from ${db.version} to ${row.schema} when it starts: ${n} schema version${n > 1 ? 's' : ''} of deltas (${db.version + 1}…${row.schema}), run by the main process before it serves${queued}${compatNote(row, db)}`,
    details: { release: release.version, schemaVersion: row.schema, database: db, schemaVersionsToApply: n, pendingBackgroundUpdates: pending.state === 'ok' ? pending.value : null },
  };
}

/** What the start does to downgrades: a raised compat version shuts out the releases below it. */
function compatNote(row: SynapseRelease, db: DbSchema): string {
  const after = compatAfter(row, db);
  if (after === db.compat) return '';
  const before = oldestRunnable(db);
  const then = oldestRunnable({ ...db, version: Math.max(db.version, row.schema), compat: after });
  if (!then || then === before) return '';
  return `. It sets schema_compat_version to ${after}: afterwards no release before ${then.first} can start on this database`;
}

function downgradeFinding(release: Release, row: SynapseRelease, db: DbSchema): Finding {
  return {
    code: 'schema-downgrade', status: 'warning',
    message: `${release.label} is older than this database, which was upgraded by ${upgradedBy(db)}: the downgrade is allowed (${db.compat === null ? 'no schema_compat_version row' : `compat ${db.compat} is not above ${row.schema}`}), but the newer tables and columns stay as they are and Synapse ${release.version} does not maintain them, and its id sequences may fall behind the rows the newer release wrote: check them with sequence-drift after it has run`,
    details: { release: release.version, schemaVersion: row.schema, database: db },
    remediation: [
      {
        kind: 'text',
        text: `After Synapse ${release.version} has started, run pg-preflight check --only sequence-drift with the same connection options, and pg-preflight fix --apply (Synapse stopped) for any sequence it finds behind its table (docs/checks/sequence-drift.md). Upgrade again from a backup rather than across the gap where you can.`,
      },
    ],
  };
}

export default defineCheck({
  id: 'synapse-schema',
  title: 'Synapse schema version',
  description: 'The Synapse release about to start can run on this database: not too new for it, workers after the main process, the same server_name; and what its start will upgrade.',
  tags: ['synapse'],
  inputs: ['synapseProcesses'],
  codes: {
    'schema-matches': { status: 'ok', summary: 'The release can start on this database as it is.' },
    'schema-too-new': { status: 'error', summary: 'The database was upgraded past what the release understands (schema_compat_version).', remediation: ['text'] },
    'worker-schema-outdated': { status: 'error', summary: 'A worker would start on an older (or empty) schema: the main process must start first.', remediation: ['text'] },
    'server-name-changed': { status: 'error', summary: 'The users in the database are on another server_name than homeserver.yaml says.', remediation: ['config'] },
    'user-id-invalid': { status: 'error', summary: 'A user id without a server name: Synapse fails on it before it starts.', remediation: ['text'] },
    'users-unreadable': { status: 'info', summary: 'server_name not compared: the role may not read users.' },
    'schema-upgrade': { status: 'info', summary: 'The start will upgrade the schema: how many versions, run by the main process.' },
    'schema-downgrade': { status: 'warning', summary: 'An allowed downgrade: newer tables stay, sequences may need fix afterwards.', remediation: ['text'] },
    'new-database': { status: 'info', summary: 'No Synapse schema yet: the main process creates it.' },
    'not-synapse': { status: 'skipped', summary: 'Nothing says Synapse will start on this database.' },
    'release-unparsable': { status: 'skipped', summary: '--synapse-version is not a release number.' },
    'release-unknown': { status: 'skipped', summary: 'The release is newer than the facts pg-preflight knows.' },
    'schema-unreadable': { status: 'skipped', summary: 'The role may not read schema_version.' },
  },
  docs: `Decides what Synapse's prepare_database decides when a release starts on this database, for
--synapse-version (else the newest release pg-preflight knows, and says so). It reads
schema_version (the SCHEMA_VERSION of the newest release that has run), schema_compat_version
(the oldest SCHEMA_VERSION that may still run) and one users row:
- too new: a compat version above the release's SCHEMA_VERSION (before 1.37.0: a schema_version
  above it) makes Synapse refuse with "Cannot use this database as it is too new for the server to
  understand". Error, naming the oldest release that can run on it; the fix is that release or a
  newer one, or the backup from before the upgrade;
- workers (--worker-config files that set worker_app, on this database): a worker refuses a
  schema_version below its SCHEMA_VERSION (1.20 to 1.46: any other than its own) and an empty
  database, because only the main process upgrades. Error: start the main process first. A worker
  also refuses a delta of its own version that is not applied yet; that list is not checked here;
- server_name (with --config): check_database_before_upgrade takes SELECT name FROM users LIMIT 1
  and compares the part after the first ":" with server_name (before 1.20: any user not LIKE
  '%:server_name'). Error, with the server_name the users were created with;
- a schema_version below the release's is info: how many schema versions the main process will
  apply before it serves, the background updates pending today, and which releases can no longer
  start on it once it raises schema_compat_version;
- a schema_version above the release's but within its compat range is a warning: the downgrade is
  allowed, the newer tables stay, and sequences may need pg-preflight fix afterwards (sequence-drift).
The release facts (SCHEMA_VERSION, SCHEMA_COMPAT_VERSION, PostgreSQL minimum of every release from
1.0.0) are one table in src/synapse/releases.ts, read from Synapse's release tags.`,
  async run(ctx) {
    const { facts, options, target } = ctx;
    const release = releaseOf(ctx);
    const workers = workersHere(ctx);
    const expectsSynapse = facts.isSynapse || target.synapse !== undefined || options.synapseVersion !== undefined || workers.length > 0;
    if (!expectsSynapse) {
      return { code: 'not-synapse', status: 'skipped', message: 'not a Synapse database (no schema_version table), and neither --config, --synapse-version nor --worker-config says Synapse will start on it' };
    }
    if (!isReleaseNumber(release.version)) {
      return { code: 'release-unparsable', status: 'skipped', message: `--synapse-version ${options.synapseVersion} is not a release number such as 1.157.1` };
    }
    // Only releases before 1.20 look past the first users row: reading more would scan the table.
    const before120 = compareReleases(release.version, SERVER_NAME_FIRST_USER_SINCE) < 0;
    const state = await readSchemaState(ctx.query, before120 ? target.synapse?.serverName : undefined);
    if (state.schemaVersion.state === 'denied') {
      return { code: 'schema-unreadable', status: 'skipped', message: `${facts.user} may not read schema_version: run pg-preflight as the database user Synapse uses` };
    }
    const row = state.schemaVersion.state === 'ok' ? state.schemaVersion.value : null;
    const db: DbSchema | undefined = row
      ? { version: Number(row.version), upgraded: Boolean(row.upgraded), compat: state.compat.state === 'ok' && state.compat.value !== null ? Number(state.compat.value) : null }
      : undefined;
    const findings: Finding[] = [];
    const known = release.row;
    const beforeFirst = compareReleases(release.version, SYNAPSE_RELEASES[0]!.first) < 0;
    if (!known) {
      const why = beforeFirst ? 'older than 1.0.0, the first release pg-preflight knows' : `not a release pg-preflight knows (1.0.0 to ${CURRENT_SYNAPSE}); update pg-preflight to check what its start does to the schema`;
      findings.push({ code: 'release-unknown', status: 'skipped', message: `Synapse ${release.version} is ${why}` });
    } else if (!db) {
      findings.push(...workerFindings(release, known, undefined, workers));
      findings.push({ code: 'new-database', status: 'info', message: `no Synapse schema yet (no schema_version row): ${release.label}'s main process creates schema ${known.schema} when it first starts` });
    } else {
      const runs = canRun(known, db);
      if (!runs) findings.push(tooNewFinding(release, known, db));
      findings.push(...workerFindings(release, known, db, workers));
      if (runs && db.version < known.schema) findings.push(upgradeFinding(release, known, db, state.pendingUpdates));
      if (runs && db.version > known.schema) findings.push(downgradeFinding(release, known, db));
    }
    // Synapse compares server_name on every start of an existing database (the rule of 1.20 on
    // for a release newer than the table).
    const serverName = db && !beforeFirst ? serverNameFinding(ctx, release, state.users) : undefined;
    if (serverName) findings.push(serverName);
    if (findings.length > 0 || !known || !db) return findings;
    const also = [
      workers.length > 0 ? `so can ${workers.map((w) => w.name).join(', ')}` : '',
      target.synapse?.serverName && target.synapse.dataStores.includes('main') && state.users.state === 'ok' && state.users.value.first !== null
        ? `server_name ${target.synapse.serverName} matches the users`
        : '',
    ].filter(Boolean);
    return {
      code: 'schema-matches', status: 'ok',
      message: `${release.label} can start on this database: schema_version ${db.version} is its own${also.length ? `; ${also.join('; ')}` : ''}${compatNote(known, db)}`,
      details: { release: release.version, schemaVersion: known.schema, database: db },
    };
  },
});
