// What a check's documentation page states about its findings, from what the check declares
// (its codes) and the codes every check has (the runner's): nothing is read from source text.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { codesOf } from '../codes.js';
import { STATUSES, type Status } from '../types/status.js';
import type { Check } from '../types/check.js';
import type { RemediationKind } from '../types/finding.js';
import type { SourceFacts } from './check-page.js';

const KINDS: readonly RemediationKind[] = ['sql', 'shell', 'config', 'text'];

/** Where a built-in check lives under `root`: `checks/<id>.ts`, or `checks/<id>/index.ts` for one with private modules. */
export function checkFile(root: string, id: string): string | undefined {
  return [`checks/${id}.ts`, `checks/${id}/index.ts`].find((f) => existsSync(join(root, f)));
}

/** Statuses and remediation kinds of a check, from its declared codes; `file` when it is a built-in one under `root`. */
export function declaredFacts(check: Check, root?: string): SourceFacts {
  const codes = Object.values(codesOf(check));
  const statuses = new Set<Status>(codes.flatMap((c) => [c.status, ...(c.otherStatuses ?? [])]));
  const kinds = new Set<RemediationKind>(codes.flatMap((c) => c.remediation ?? []));
  return {
    file: (root && checkFile(root, check.id)) || undefined,
    statuses: STATUSES.filter((s) => statuses.has(s)),
    remediationKinds: KINDS.filter((k) => kinds.has(k)),
  };
}
