// Where a check's documentation lives, for reports that link to it (SARIF helpUri).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OWN_PACKAGE } from '../package-json.js';

interface PackageInfo {
  root?: string;
  repository?: string;
  homepage?: string;
}

function packageInfo(): PackageInfo | undefined {
  if (!OWN_PACKAGE) return undefined;
  const { json, root } = OWN_PACKAGE;
  return { root, repository: typeof json.repository === 'string' ? json.repository : json.repository?.url, homepage: json.homepage };
}

const PACKAGE = packageInfo();

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
  return PACKAGE?.root ? pathToFileURL(join(PACKAGE.root, checkDocPath(id))).href : undefined;
}

/** The tool's home page for reports: package.json homepage or repository, else its npm page. */
export function toolInformationUri(): string {
  return PACKAGE?.homepage ?? githubBase(PACKAGE?.repository) ?? 'https://www.npmjs.com/package/pg-preflight';
}
