import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_CHECKS } from '../checks/index.js';
import { checkPage } from '../src/docs/check-page.js';
import { DOCS_DIR, generateCheckDocs } from '../src/docs/generate.js';
import { declaredFacts } from '../src/docs/declared-facts.js';
import { defineCheck } from '../src/define-check.js';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, DOCS_DIR);
const STALE = 'is out of date: run `npm run docs` and commit docs/checks/';

describe('docs/checks: generated from the checks, committed, never edited by hand', () => {
  const pages = generateCheckDocs(BUILTIN_CHECKS, ROOT);

  it('one page per built-in check, plus the index, and nothing else', () => {
    const committed = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.md')).sort() : [];
    expect(committed, `docs/checks/ ${STALE}`).toEqual([...pages.keys()].sort());
  });

  it.each([...pages.keys()])('%s matches what `npm run docs` generates', (name) => {
    const file = join(DIR, name);
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
    expect(committed, `docs/checks/${name} ${STALE}`).toBe(pages.get(name));
  });

  it('a page states the id, title, docs, statuses, options with types and defaults, and remediation kinds', () => {
    const check = defineCheck({
      id: 'example-check',
      title: 'An example',
      description: 'Looks at <things>.',
      docs: 'What it reads, why, how to fix: SET x = 1.',
      tags: ['synapse'],
      params: {
        'max-age': { type: 'duration', default: '1d', description: 'How old is too old' },
        limit: { type: 'integer', default: null, description: 'Rows | at most' },
      },
      async run() {
        return { status: 'ok', message: 'fine' };
      },
    });
    const page = checkPage(check, { file: 'checks/example-check.ts', statuses: ['ok', 'warning', 'failed'], remediationKinds: ['sql'] });
    expect(page).toContain('# `example-check`: An example');
    expect(page).toContain('Looks at \\<things>.');
    expect(page).toContain('| tags | `synapse` |');
    expect(page).toContain('| statuses | `ok`, `warning`, `failed` |');
    expect(page).toContain('| `max-age` | duration | `"1d"` | How old is too old |');
    expect(page).toContain('| `limit` | integer | none | Rows \\| at most |');
    expect(page).toContain('- `sql`: SQL to run with psql');
    expect(page).toContain('Set with `--set example-check.<name>=<value>`.');
  });

  const builtin = (id: string) => BUILTIN_CHECKS.find((c) => c.id === id)!;

  it('statuses and remediation kinds come from the codes the check declares', () => {
    expect(declaredFacts(builtin('database-encoding'), ROOT)).toEqual({
      file: 'checks/database-encoding.ts',
      statuses: ['ok', 'error', 'failed'],
      remediationKinds: ['shell', 'text'],
    });
    expect(declaredFacts(builtin('database-locale')).statuses).toEqual(['ok', 'info', 'warning', 'error', 'failed']);
    // too-old is an error, or a warning without a Synapse database: otherStatuses counts both.
    expect(declaredFacts(builtin('server-version')).statuses).toEqual(['ok', 'warning', 'error', 'failed']);
    expect(declaredFacts(defineCheck({ id: 'no-codes', title: 't', description: 'd', docs: 'x', run: async () => [] })).statuses).toEqual(['ok', 'warning', 'failed']);
  });
});
