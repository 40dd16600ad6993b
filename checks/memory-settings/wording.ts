// memory-settings, the wording: how values, defaults and the unknown host are named, and the
// ALTER SYSTEM steps. The analysis (analysis.ts) decides; this module only says it.
import { isOnThisHost } from '../../src/host-memory.js';
import { quoteLiteral } from '../../src/quote.js';
import type { CheckContext, Remediation, Setting } from '../../src/types.js';
import { humanSize, pgSize } from '../../src/units.js';
import { defaultKind, type Change, type SizeName, type Values } from './analysis.js';

const DEFAULT_NOTE = { 'compiled-in': ' (the compiled-in default)', initdb: " (initdb's default)" } as const;

export function unknownMemoryReason(ctx: CheckContext): string {
  const c = ctx.target.connection;
  if (!isOnThisHost(c)) return `the server at ${c.host}:${c.port} is not on this machine`;
  return 'the server is on this machine, but no /proc/meminfo was read';
}

/** "(the compiled-in default)" / "(initdb's default)" / "" */
export function defaultNote(s: Setting): string {
  const kind = defaultKind(s);
  return kind ? DEFAULT_NOTE[kind] : '';
}

export function describeValue(name: SizeName, v: Values, s: Setting): string {
  if (name === 'autovacuum_work_mem' && v.autovacuum_work_mem === undefined) {
    return `autovacuum_work_mem -1 (uses maintenance_work_mem${defaultNote(s).replace(/^ \((.*)\)$/, '; $1')})`;
  }
  return `${name} ${humanSize(v[name] as number)}${defaultNote(s)}`;
}

export function alterStep(change: Change): Remediation {
  const restart = change.context === 'postmaster';
  return {
    kind: 'sql',
    title: restart ? `as a superuser; needs a restart (${change.name} is read at server start)` : 'as a superuser; takes effect on reload',
    // The setting names are this module's constants, not user input: written as people write them.
    text: `ALTER SYSTEM SET ${change.name} = ${quoteLiteral(pgSize(change.value))};`,
  };
}

export function applySteps(changes: Change[]): Remediation[] {
  const steps: Remediation[] = [];
  if (changes.some((c) => c.context !== 'postmaster')) {
    steps.push({ kind: 'sql', title: 'then load the new values (no restart needed for these)', text: 'SELECT pg_reload_conf();' });
  }
  const restart = changes.filter((c) => c.context === 'postmaster').map((c) => c.name);
  if (restart.length > 0) {
    steps.push({
      kind: 'text',
      text: `${restart.join(' and ')} only change${restart.length === 1 ? 's' : ''} when PostgreSQL restarts (e.g. "systemctl restart postgresql"); until then SHOW still prints the old value and pg_settings.pending_restart is true. Synapse reconnects on its own after the restart.`,
    });
  }
  return steps;
}
