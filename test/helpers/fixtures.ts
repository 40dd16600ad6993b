import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

export function fixtureSql(path: string, vars: Record<string, string | number> = {}): string {
  let text = readFileSync(join(FIXTURES, path), 'utf8');
  for (const [k, v] of Object.entries(vars)) text = text.split(`:${k}`).join(String(v));
  return text;
}

export function synapseSchemaSql(version: number): string {
  return fixtureSql('synapse/schema-version.sql', { schema_version: version });
}
