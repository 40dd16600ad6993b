// Facts from Synapse's source (element-hq/synapse at v1.157.1), with the release each changed in.

/** The newest Synapse release these facts were read from. */
export const CURRENT_SYNAPSE = '1.157.1';

/** Minimum PostgreSQL major enforced by `check_database`, by the first release that enforced it. */
const PG_MINIMUM_BY_RELEASE: [release: string, minMajor: number][] = [
  ['1.1.0', 9.5],
  ['1.32.0', 9.6],
  ['1.52.0', 10], // docs announced 10 for 1.50, the code check landed in 1.52 (#11683)
  ['1.72.0', 11], // #14392
  ['1.122.0', 13], // 11 and 12 dropped together, #18034
  ['1.143.0', 14], // #19170
];

/** SCHEMA_VERSION → the first Synapse release that has it (schema_version.version of the database). */
const SCHEMA_FIRST_RELEASE: [schema: number, release: string][] = [
  [55, '1.0.0'], [56, '1.3.0'], [57, '1.9.0'], [58, '1.13.0'], [59, '1.26.0'], [60, '1.38.0'],
  [61, '1.39.0'], [63, '1.41.0'], [64, '1.44.0'], [65, '1.46.0'], [66, '1.49.0'], [67, '1.50.0'],
  [68, '1.52.0'], [69, '1.57.0'], [70, '1.60.0'], [71, '1.61.0'], [72, '1.62.0'], [73, '1.68.0'],
  [74, '1.77.0'], [76, '1.83.0'], [77, '1.85.0'], [78, '1.86.0'], [79, '1.89.0'], [80, '1.90.0'],
  [81, '1.92.0'], [82, '1.93.0'], [83, '1.96.0'], [84, '1.100.0'], [85, '1.107.0'], [86, '1.112.0'],
  [87, '1.114.0'], [88, '1.116.0'], [89, '1.124.0'], [91, '1.128.0'], [92, '1.129.0'], [93, '1.143.0'],
  [94, '1.151.0'],
];

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

/** Minimum PostgreSQL major of a Synapse release (undefined before 1.1.0, which had none). */
export function pgMinimumForRelease(release: string): number | undefined {
  let min: number | undefined;
  for (const [r, m] of PG_MINIMUM_BY_RELEASE) if (compareReleases(release, r) >= 0) min = m;
  return min;
}

/** The oldest Synapse release that can have written this schema version. */
export function releaseForSchema(schema: number): string | undefined {
  let found: string | undefined;
  for (const [s, r] of SCHEMA_FIRST_RELEASE) if (schema >= s) found = r;
  return found;
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
