// Facts from Synapse's source (element-hq/synapse), one row per change, with the releases each
// row covers. The values were read at every release tag v1.0.0 … v1.157.1 (git show <tag>:<file>):
//   schema:    SCHEMA_VERSION, synapse/storage/prepare_database.py before v1.34.0, then
//              synapse/storage/schema/__init__.py
//   compat:    SCHEMA_COMPAT_VERSION, synapse/storage/schema/__init__.py (first in v1.37.0)
//   pgMinimum: the `server_version < N` refusal in synapse/storage/engines/postgres.py
// A row holds for every tag from `first` to `last`; the next row starts at the next tag.

export interface SynapseRelease {
  /** The first and the last release tag (without the v) whose values are this row's. */
  first: string;
  last: string;
  /** SCHEMA_VERSION: the schema_version.version that release upgrades a database to. */
  schema: number;
  /**
   * SCHEMA_COMPAT_VERSION, which the release writes to schema_compat_version; null before it
   * existed (v1.37.0), when a release refused any schema_version above its own SCHEMA_VERSION.
   */
  compat: number | null;
  /** The PostgreSQL major below which check_database refuses to start; null: no minimum. */
  pgMinimum: number | null;
}

export const SYNAPSE_RELEASES: readonly SynapseRelease[] = [
  { first: '1.0.0', last: '1.0.0', schema: 55, compat: null, pgMinimum: null },
  { first: '1.1.0', last: '1.2.1', schema: 55, compat: null, pgMinimum: 9.5 }, // PostgreSQL 9.4 dropped (#5448)
  { first: '1.3.0', last: '1.8.0', schema: 56, compat: null, pgMinimum: 9.5 },
  { first: '1.9.0', last: '1.12.4', schema: 57, compat: null, pgMinimum: 9.5 },
  { first: '1.13.0', last: '1.25.0', schema: 58, compat: null, pgMinimum: 9.5 },
  { first: '1.26.0', last: '1.31.0', schema: 59, compat: null, pgMinimum: 9.5 },
  { first: '1.32.0', last: '1.36.0', schema: 59, compat: null, pgMinimum: 9.6 }, // 9.5 dropped
  { first: '1.37.0', last: '1.37.1', schema: 59, compat: 59, pgMinimum: 9.6 }, // schema_compat_version introduced (#9933)
  { first: '1.38.0', last: '1.38.1', schema: 60, compat: 59, pgMinimum: 9.6 },
  { first: '1.39.0', last: '1.40.0', schema: 61, compat: 59, pgMinimum: 9.6 },
  { first: '1.41.0', last: '1.43.0', schema: 63, compat: 59, pgMinimum: 9.6 },
  { first: '1.44.0', last: '1.44.0', schema: 64, compat: 59, pgMinimum: 9.6 },
  { first: '1.45.0', last: '1.45.1', schema: 64, compat: 60, pgMinimum: 9.6 },
  { first: '1.46.0', last: '1.47.1', schema: 65, compat: 60, pgMinimum: 9.6 },
  { first: '1.48.0', last: '1.48.0', schema: 65, compat: 61, pgMinimum: 9.6 },
  { first: '1.49.0', last: '1.49.2', schema: 66, compat: 61, pgMinimum: 9.6 },
  { first: '1.50.0', last: '1.51.0', schema: 67, compat: 61, pgMinimum: 9.6 },
  { first: '1.52.0', last: '1.56.0', schema: 68, compat: 66, pgMinimum: 10 }, // docs announced 10 for 1.50; the code check landed in 1.52 (#11683)
  { first: '1.57.0', last: '1.57.1', schema: 69, compat: 66, pgMinimum: 10 },
  { first: '1.58.0', last: '1.59.1', schema: 69, compat: 69, pgMinimum: 10 },
  { first: '1.60.0', last: '1.60.0', schema: 70, compat: 69, pgMinimum: 10 },
  { first: '1.61.0', last: '1.61.1', schema: 71, compat: 69, pgMinimum: 10 },
  { first: '1.62.0', last: '1.63.1', schema: 72, compat: 71, pgMinimum: 10 },
  { first: '1.64.0', last: '1.67.0', schema: 72, compat: 72, pgMinimum: 10 },
  { first: '1.68.0', last: '1.69.0', schema: 73, compat: 72, pgMinimum: 10 },
  { first: '1.70.0', last: '1.71.0', schema: 73, compat: 73, pgMinimum: 10 },
  { first: '1.72.0', last: '1.76.0', schema: 73, compat: 73, pgMinimum: 11 }, // #14392
  { first: '1.77.0', last: '1.82.0', schema: 74, compat: 73, pgMinimum: 11 },
  { first: '1.83.0', last: '1.84.1', schema: 76, compat: 74, pgMinimum: 11 },
  { first: '1.85.0', last: '1.85.2', schema: 77, compat: 76, pgMinimum: 11 },
  { first: '1.86.0', last: '1.88.0', schema: 78, compat: 76, pgMinimum: 11 },
  { first: '1.89.0', last: '1.89.0', schema: 79, compat: 76, pgMinimum: 11 },
  { first: '1.90.0', last: '1.91.2', schema: 80, compat: 76, pgMinimum: 11 },
  { first: '1.92.0', last: '1.92.3', schema: 81, compat: 80, pgMinimum: 11 },
  { first: '1.93.0', last: '1.95.1', schema: 82, compat: 80, pgMinimum: 11 },
  { first: '1.96.0', last: '1.97.0', schema: 83, compat: 80, pgMinimum: 11 },
  { first: '1.98.0', last: '1.99.0', schema: 83, compat: 83, pgMinimum: 11 },
  { first: '1.100.0', last: '1.105.0', schema: 84, compat: 83, pgMinimum: 11 },
  { first: '1.105.1', last: '1.106.0', schema: 84, compat: 84, pgMinimum: 11 }, // compat raised in a patch release
  { first: '1.107.0', last: '1.111.1', schema: 85, compat: 84, pgMinimum: 11 },
  { first: '1.112.0', last: '1.113.0', schema: 86, compat: 84, pgMinimum: 11 },
  { first: '1.114.0', last: '1.115.0', schema: 87, compat: 84, pgMinimum: 11 },
  { first: '1.116.0', last: '1.121.1', schema: 88, compat: 84, pgMinimum: 11 },
  { first: '1.122.0', last: '1.123.0', schema: 88, compat: 84, pgMinimum: 13 }, // 11 and 12 dropped together (#18034)
  { first: '1.124.0', last: '1.127.1', schema: 89, compat: 84, pgMinimum: 13 },
  { first: '1.128.0', last: '1.128.0', schema: 91, compat: 84, pgMinimum: 13 },
  { first: '1.129.0', last: '1.142.1', schema: 92, compat: 84, pgMinimum: 13 },
  { first: '1.143.0', last: '1.150.0', schema: 93, compat: 84, pgMinimum: 14 }, // #19170
  { first: '1.151.0', last: '1.157.1', schema: 94, compat: 84, pgMinimum: 14 },
];

/** The highest patch tagged for each 1.<minor> (index = minor): v1.<minor>.0 … v1.<minor>.<n> all exist. */
export const LAST_PATCH: readonly number[] = [
  0, 0, 1, 1, 1, 1, 1, 3, 0, 1, 1, 1, 4, 0, 0, 2, 1, 0, 0, 3, 1, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0,
  2, 2, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 2, 2, 0, 0, 0, 0, 2, 0, 1, 1, 1, 0, 1, 0, 1,
  0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 2, 3, 0, 0, 1,
  1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 1,
  0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 4, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1,
];

/** The newest Synapse release these facts were read from. */
export const CURRENT_SYNAPSE = SYNAPSE_RELEASES[SYNAPSE_RELEASES.length - 1]!.last;

/** Since v1.37.0 a release refuses only a schema_compat_version above its SCHEMA_VERSION (#9933). */
export const COMPAT_SINCE = '1.37.0';
/**
 * Since v1.20.0 a worker refuses a schema that is not its SCHEMA_VERSION, and an empty database
 * (prepare_database.py); since v1.47.0 only a schema below it.
 */
export const WORKER_SCHEMA_CHECK_SINCE = '1.20.0';
export const WORKER_BELOW_ONLY_SINCE = '1.47.0';
/**
 * check_database_before_upgrade compares the domain of one `users` row (SELECT name FROM users
 * LIMIT 1) with server_name since v1.20.0; before, it refused any user NOT LIKE '%:' || server_name.
 */
export const SERVER_NAME_FIRST_USER_SINCE = '1.20.0';

/** A release number as --synapse-version takes it: 1.157.1, v1.157.1 or 1.157. */
export function isReleaseNumber(text: string): boolean {
  return /^v?\d+\.\d+(\.\d+)?$/.test(text.trim());
}

export function parseRelease(text: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function compareReleases(a: string, b: string): number {
  const pa = parseRelease(a) ?? [0, 0, 0];
  const pb = parseRelease(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (pa[i]! !== pb[i]!) return pa[i]! - pb[i]!;
  return 0;
}

/** The facts of a release: the last row starting at or before it; undefined before 1.0.0. */
export function releaseFacts(release: string): SynapseRelease | undefined {
  let found: SynapseRelease | undefined;
  for (const row of SYNAPSE_RELEASES) if (compareReleases(release, row.first) >= 0) found = row;
  return found;
}

/** Whether `release` is a tag these facts were read from (1.0.0 … CURRENT_SYNAPSE). */
export function isKnownRelease(release: string): boolean {
  const p = parseRelease(release);
  return p !== undefined && p[0] === 1 && p[1]! < LAST_PATCH.length && p[2]! <= LAST_PATCH[p[1]!]!;
}

/** Minimum PostgreSQL major of a Synapse release (undefined before 1.1.0, which had none). */
export function pgMinimumForRelease(release: string): number | undefined {
  return releaseFacts(release)?.pgMinimum ?? undefined;
}

/** The oldest Synapse release that can have written this schema version. */
export function releaseForSchema(schema: number): string | undefined {
  let found: number | undefined;
  for (const row of SYNAPSE_RELEASES) if (schema >= row.schema) found = row.schema;
  return found === undefined ? undefined : SYNAPSE_RELEASES.find((r) => r.schema === found)!.first;
}

/** PostgreSQL majors' upstream end of life (postgresql.org versioning policy). */
export const PG_END_OF_LIFE: Record<number, string> = {
  9.6: '2021-11-11',
  10: '2022-11-10',
  11: '2023-11-09',
  12: '2024-11-21',
  13: '2025-11-13',
  14: '2026-11-12',
  15: '2027-11-11',
  16: '2028-11-09',
  17: '2029-11-08',
  18: '2030-11-14',
};
