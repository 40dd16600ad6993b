// pg-preflight's own package.json: its version for --version and reports, its links for reports.
// The bundles scripts/build-cli.mjs makes have it baked in, because the single executable carries
// no package.json and a bundle should not read a file to say its version; the tsc build finds it
// from this module, whether that runs from src/ or dist/src/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageJson {
  name: string;
  version: string;
  homepage?: string;
  repository?: string | { url?: string };
}

export interface OwnPackage {
  json: PackageJson;
  /** The installed package's folder; unknown in a bundle. */
  root?: string;
}

// package.json's text, put in by the bundler (esbuild `define`); an undeclared global in the tsc build.
declare const PG_PREFLIGHT_PACKAGE_JSON: string | undefined;

function findPackage(): OwnPackage | undefined {
  if (typeof PG_PREFLIGHT_PACKAGE_JSON !== 'undefined') return { json: JSON.parse(PG_PREFLIGHT_PACKAGE_JSON) as PackageJson };
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (json.name === 'pg-preflight') return { json, root: dir };
    }
    dir = dirname(dir);
  }
  return undefined;
}

export const OWN_PACKAGE = findPackage();
