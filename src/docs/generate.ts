// Every generated page under docs/checks/, by file name: what `npm run docs` writes and what
// test/docs.test.ts compares with the committed files.
import type { Check } from '../types.js';
import { checkPage, checksIndex } from './check-page.js';
import { declaredFacts } from './declared-facts.js';

export const DOCS_DIR = 'docs/checks';

export function generateCheckDocs(checks: readonly Check[], root: string): Map<string, string> {
  const pages = new Map<string, string>();
  pages.set('README.md', checksIndex(checks));
  for (const check of checks) pages.set(`${check.id}.md`, checkPage(check, declaredFacts(check, root)));
  return pages;
}
