import { defineCheck } from '../src/define-check.js';
import { quoteIdent, quoteLiteral } from '../src/quote.js';
import { recreateDatabaseSteps } from '../src/remediation/recreate-database.js';
import type { Finding, Remediation } from '../src/types.js';

const PROVIDERS: Record<string, string> = { c: 'libc', i: 'icu', b: 'builtin' };

/** Why Synapse rejects a value that looks harmless: its comparison is `!= "C"`, exact and case-sensitive. */
function whyRejected(value: string): string {
  if (value === 'POSIX') return 'POSIX is the same locale as C in PostgreSQL, but Synapse compares the name with "C" exactly and refuses it';
  if (/^c$/.test(value)) return 'Synapse compares case-sensitively, so lowercase "c" is refused (Synapse issue #16915)';
  if (/^C\.utf-?8$/i.test(value)) {
    return `${value} sorts by code point like C, but it comes from the C library, whose releases have changed it, and Synapse compares the name with "C" exactly`;
  }
  return `${value} sorts by the C library's language rules, which change when the library is upgraded and then leave indexes in the wrong order`;
}

function inPlaceSteps(database: string): Remediation[] {
  return [
    {
      kind: 'sql',
      title: 'In-place alternative, step 1 (extreme care: as a superuser, connected to another database, with Synapse and every worker stopped)',
      text: `UPDATE pg_database SET datcollate = 'C', datctype = 'C' WHERE datname = ${quoteLiteral(database)};`,
    },
    {
      kind: 'sql',
      title: `In-place alternative, step 2: reconnect to ${database} and rebuild every index under the new collation`,
      text: `REINDEX DATABASE ${quoteIdent(database)};`,
    },
    {
      kind: 'text',
      text: 'If REINDEX fails with a duplicate key error, corruption has already happened: the rows that collide under C ordering must be found and removed by hand before it can finish. The dump-and-restore route above avoids editing the catalog.',
    },
  ];
}

export default defineCheck({
  id: 'database-locale',
  title: 'Database COLLATE and CTYPE are C',
  description: 'datcollate and datctype must both be exactly "C", compared as Synapse compares them.',
  docs: `Synapse reads datcollate and datctype from pg_database and refuses to start unless both
are exactly "C" (case-sensitive: POSIX, C.UTF-8 and lowercase c are refused, even though
PostgreSQL treats some of them alike). A language locale orders text by the C library's
rules; when that library is upgraded under the database, or a replica runs another version,
indexes silently go out of order and can hide duplicates.
With allow_unsafe_locale: true under database: in homeserver.yaml, Synapse starts anyway
(since 1.56 for existing databases, 1.109 for new ones); this check then reports a warning
that names the risk. Synapse ignores the locale provider (libc, ICU, builtin); it is shown
as detail.
Fix: dump, createdb --locale=C --template=template0, restore, swap names. The in-place
alternative edits pg_database and runs REINDEX DATABASE, as the Synapse docs describe, with
their warning: a duplicate key error during REINDEX means corruption already happened.`,
  codes: {
    'locale-c': { status: 'ok', summary: 'COLLATE and CTYPE are both exactly C.' },
    'non-libc-provider': { status: 'info', summary: 'The locale provider is not libc: Synapse starts, text ordering follows that provider.' },
    'unsafe-locale-allowed': { status: 'warning', summary: 'COLLATE or CTYPE is not C; Synapse starts only because allow_unsafe_locale is true.', remediation: ['text', 'shell'] },
    'locale-not-c': { status: 'error', summary: 'COLLATE or CTYPE is not C: Synapse refuses to start.', remediation: ['text', 'shell', 'sql', 'config'] },
  },
  async run({ facts, target }) {
    const row = facts.databaseRow;
    const collate = String(row.datcollate);
    const ctype = String(row.datctype);
    const provider = PROVIDERS[String(row.datlocprovider ?? 'c')] ?? String(row.datlocprovider);
    const providerLocale = (row.datlocale ?? row.daticulocale) as string | null | undefined;
    const details = { collate, ctype, provider, ...(providerLocale ? { providerLocale } : {}) };
    const wrong = [
      ...(collate !== 'C' ? [`COLLATE is "${collate}"`] : []),
      ...(ctype !== 'C' ? [`CTYPE is "${ctype}"`] : []),
    ];
    const findings: Finding[] = [];
    if (wrong.length === 0) {
      findings.push({ code: 'locale-c', status: 'ok', message: `COLLATE and CTYPE are C (locale provider ${provider})`, details });
      if (provider !== 'libc') {
        findings.push({
          code: 'non-libc-provider', status: 'info',
          message: `the locale provider is ${provider}${providerLocale ? ` (${providerLocale})` : ''}: Synapse only looks at COLLATE and CTYPE, so it starts, but text ordering follows ${provider}`,
          details,
        });
      }
      return findings;
    }
    const reasons = [...new Set([collate, ctype].filter((v) => v !== 'C'))].map(whyRejected);
    const synapseConfig = target.synapse;
    if (synapseConfig?.allowUnsafeLocale) {
      return {
        code: 'unsafe-locale-allowed', status: 'warning',
        message: `${wrong.join(' and ')}, not C; Synapse starts only because allow_unsafe_locale is true, at the risk that a locale library update (or a replica with another version) corrupts its indexes${unsafeLocaleNote(synapseConfig.notes)}`,
        object: facts.database,
        details: { ...details, allowUnsafeLocale: true, why: reasons },
        remediation: recreateDatabaseSteps(target, facts.owner, facts.isSuperuser ? facts.user : 'postgres'),
      };
    }
    const remediation: Remediation[] = [...recreateDatabaseSteps(target, facts.owner, facts.isSuperuser ? facts.user : 'postgres'), ...inPlaceSteps(facts.database)];
    remediation.push({
      kind: 'config',
      title: 'Or accept the risk and let Synapse start: add to the database: section of homeserver.yaml',
      text: 'allow_unsafe_locale: true',
    });
    return {
      code: 'locale-not-c', status: 'error',
      message: `${wrong.join(' and ')}, not C: Synapse refuses to start ("Database has incorrect collation/ctype"). ${reasons.join('. ')}.`,
      object: facts.database,
      details: { ...details, why: reasons },
      remediation,
    };
  },
});

function unsafeLocaleNote(notes: string[] | undefined): string {
  const note = notes?.find((n) => n.includes('.allow_unsafe_locale '));
  return note ? ` (${note})` : '';
}
