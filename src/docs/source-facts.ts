// Reads, from a check's source, what the Check object does not declare: the statuses it can
// return and the kinds of remediation it prints. Used only to generate docs/checks/*.md.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { STATUSES, type RemediationKind, type Status } from '../types.js';
import type { SourceFacts } from './check-page.js';

const KINDS: readonly RemediationKind[] = ['sql', 'shell', 'config', 'text'];
const IMPORT = /^import\s+(?!type\b)[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/gm;
const STATUS_EXPR = /\bstatus:\s*([^,\n}]+)/g;
const STATUS_LITERAL = /'(ok|skipped|info|warning|error|failed)'/g;
const KIND_LITERAL = /\bkind:\s*'(sql|shell|config|text)'/g;

/** The check's module and every project module it imports (remediation builders, helpers). */
function modulesOf(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) queue.push(resolve(dirname(file), `${m[1]}.ts`));
  }
  return [...seen];
}

/** Facts for the built-in check `id` (checks/<id>.ts under `root`), or undefined when there is no such file. */
export function sourceFacts(root: string, id: string): SourceFacts | undefined {
  const entry = join(root, 'checks', `${id}.ts`);
  if (!existsSync(entry)) return undefined;
  // `ok` when a check returns no findings and `failed` when it throws: the runner's, for every check.
  const statuses = new Set<Status>(['ok', 'failed']);
  const kinds = new Set<RemediationKind>();
  for (const file of modulesOf(entry)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(STATUS_EXPR)) for (const s of m[1]!.matchAll(STATUS_LITERAL)) statuses.add(s[1] as Status);
    for (const m of text.matchAll(KIND_LITERAL)) kinds.add(m[1] as RemediationKind);
  }
  return {
    file: relative(root, entry).split('\\').join('/'),
    statuses: STATUSES.filter((s) => statuses.has(s)),
    remediationKinds: KINDS.filter((k) => kinds.has(k)),
  };
}
