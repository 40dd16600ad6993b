import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own name and version, found from this module whether it runs from src/ or dist/. */
function readPackage(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pg-preflight') return { name: pkg.name, version: pkg.version ?? '0.0.0' };
    }
    dir = dirname(dir);
  }
  return { name: 'pg-preflight', version: '0.0.0' };
}

export const TOOL = readPackage();
