// npm run docs: writes docs/checks/*.md from the built-in checks and removes pages of checks
// that no longer exist. test/docs.test.ts fails when the committed pages differ.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_CHECKS } from '../checks/index.js';
import { DOCS_DIR, generateCheckDocs } from '../src/docs/generate.js';

// dist/scripts/gen-docs.js -> the repository root, where checks/*.ts and docs/ live.
const root = join(import.meta.dirname, '..', '..');
const dir = join(root, DOCS_DIR);
const pages = generateCheckDocs(BUILTIN_CHECKS, root);
mkdirSync(dir, { recursive: true });
for (const name of readdirSync(dir)) {
  if (name.endsWith('.md') && !pages.has(name)) {
    rmSync(join(dir, name));
    console.log(`removed ${DOCS_DIR}/${name}`);
  }
}
for (const [name, text] of pages) writeFileSync(join(dir, name), text);
console.log(`wrote ${pages.size} pages to ${DOCS_DIR}/`);
