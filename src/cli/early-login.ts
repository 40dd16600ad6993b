// A pre-start check spends about 20 ms starting itself (yargs, the check command's modules,
// resolving the target) before it would connect, and then waits about 14 ms for the login and the
// facts, most of it the server's work (bench/full-check.ts, socket trace). Read quickly off the
// command line before yargs is loaded, the target is logged in to while the CLI starts. The parse
// that follows decides: the run takes the session only when it resolves the same target and
// limits (src/session-ahead.ts), so a misreading here costs a login, never a different result.
//
// Only the plain shape is read: `check` (or no command), at most one --dsn, --config, the three
// timeouts. Anything that names other targets or changes how the first login goes (--homeserver,
// --all-databases, --wait, several --dsn) or asks for help leaves the login to the run. The
// second session (src/beside-session.ts) logs in ahead too, unless something may keep the run
// to one connection or leave out the check that reads beside: --set, --only, --skip, a rules
// file (the run would close it unused, but a second connection is what those may ask not to open).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveNamedTargets } from '../run-targets.js';
import { RULES_FILE_NAME } from '../rules/load.js';
import type { DatabaseTarget } from '../config/target.js';
import type { SessionLimits } from '../connection.js';
import { openAhead, type SessionAhead } from '../session-ahead.js';
import { mayBeCheck } from './check-shape.js';
import { limitsFrom, SESSION_DEFAULTS } from './common-options.js';

type Timeout = keyof typeof SESSION_DEFAULTS;

/** Flags after which the run's own login is the only right one. */
const LEAVE_TO_THE_RUN = new Set(['--homeserver', '--all-databases', '--wait', '--version', '-V', '--']);

/** Flags after which the run decides alone whether it opens a second session. */
const ONE_SESSION_MAYBE = new Set(['--set', '--only', '--skip', '--rules']);

export interface ReadAhead {
  target: DatabaseTarget;
  limits: SessionLimits;
  beside: boolean;
}

/** What the command line seems to ask for; undefined when it is not the plain shape. */
export function readAhead(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): ReadAhead | undefined {
  if (!mayBeCheck(argv)) return undefined;
  const dsns: string[] = [];
  const configs: string[] = [];
  const timeouts: Record<Timeout, number> = { ...SESSION_DEFAULTS };
  let beside = !existsSync(join(cwd, RULES_FILE_NAME));
  for (let i = argv[0] === 'check' ? 1 : 0; i < argv.length; i++) {
    const token = argv[i]!;
    const eq = token.startsWith('--') ? token.indexOf('=') : token.startsWith('-c=') ? 2 : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    if (LEAVE_TO_THE_RUN.has(name)) return undefined;
    if (ONE_SESSION_MAYBE.has(name)) beside = false;
    // A cluster of short flags (-qc FILE) would hide a -c.
    if (/^-[^-].+/.test(name) && name.includes('c')) return undefined;
    const isDsn = name === '--dsn';
    const isConfig = name === '--config' || name === '-c';
    const timeout = name.startsWith('--') && Object.hasOwn(SESSION_DEFAULTS, name.slice(2)) ? (name.slice(2) as Timeout) : undefined;
    if (!isDsn && !isConfig && !timeout) continue;
    const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) return undefined;
    if (isDsn) dsns.push(value);
    else if (isConfig) configs.push(value);
    else timeouts[timeout!] = Number(value);
  }
  if (dsns.length > 1) return undefined;
  try {
    // As check-command calls it, with what yargs would have made of the same words.
    const targets = resolveNamedTargets({ dsns: dsns.length > 0 ? dsns : undefined, configPaths: configs.length > 0 ? configs : undefined, env, allDatabases: false });
    return targets.length === 1 ? { target: targets[0]!, limits: limitsFrom(timeouts), beside } : undefined;
  } catch {
    // The run reports whatever was wrong, in its own words.
    return undefined;
  }
}

/**
 * Starts the logins the command line seems to ask for; undefined when it is not the plain shape,
 * or when anything here fails (a working directory gone, say): the run then finds it and says so.
 */
export function loginAhead(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: () => string = process.cwd): SessionAhead | undefined {
  try {
    const read = readAhead(argv, env, cwd());
    return read ? openAhead(read.target, read.limits, { beside: read.beside }) : undefined;
  } catch {
    return undefined;
  }
}
