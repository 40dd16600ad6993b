import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './built-cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The lines of each ```sh block under the README heading `### <title>` (up to the next heading). */
export function readmeShellBlocks(title: string): string[][] {
  const start = README.indexOf(`\n### ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "### ${title}" section`);
  const rest = README.slice(start + 1);
  const end = rest.slice(1).search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end + 1);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().split('\n').map((l) => l.trim()));
}
