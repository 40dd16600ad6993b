// Where a check's documentation lives, for reports that link to it (SARIF helpUri).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface PackageInfo {
  root: string;
  repository?: string;
  homepage?: string;
}

/** The package root and its links, found from this module whether it runs from src/ or dist/. */
function readPackage(): PackageInfo | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; homepage?: string; repository?: string | { url?: string } };
      if (pkg.name === 'pg-preflight') {
        const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
        return { root: dir, repository: repo, homepage: pkg.homepage };
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

const PACKAGE = readPackage();

/** https://github.com/owner/name from the forms package.json allows (git+https, .git, github:owner/name). */
function githubBase(repository: string | undefined): string | undefined {
  if (!repository) return undefined;
  const m = /^(?:github:|(?:git\+)?https:\/\/github\.com\/|git@github\.com:)([\w.-]+\/[\w.-]+?)(?:\.git)?\/?$/.exec(repository);
  return m ? `https://github.com/${m[1]}` : undefined;
}

/** The repository-relative path of a check's generated page. */
export function checkDocPath(id: string): string {
  return `docs/checks/${id}.md`;
}

/**
 * An absolute URI for a check's page: on GitHub when package.json names the repository, else the
 * page shipped inside the installed package (the `docs` folder is in package.json "files").
 */
export function checkDocUri(id: string): string | undefined {
  const base = githubBase(PACKAGE?.repository);
  if (base) return `${base}/blob/HEAD/${checkDocPath(id)}`;
  return PACKAGE ? pathToFileURL(join(PACKAGE.root, checkDocPath(id))).href : undefined;
}

/** The tool's home page for reports: package.json homepage or repository, else its npm page. */
export function toolInformationUri(): string {
  return PACKAGE?.homepage ?? githubBase(PACKAGE?.repository) ?? 'https://www.npmjs.com/package/pg-preflight';
}
