// Sizes and durations as PostgreSQL stores and writes them, and as reports show them. pg_settings keeps a memory setting as a number of
// `unit`s (shared_buffers in 8kB pages, work_mem in kB); people write "4GB". PostgreSQL's size
// units are binary (1kB = 1024 bytes) and case-sensitive: kB, MB, GB, TB (B from PostgreSQL 11).
import type { Setting } from './types.js';

const KB = 1024;
const SIZE_UNITS: [string, number][] = [
  ['TB', KB ** 4],
  ['GB', KB ** 3],
  ['MB', KB ** 2],
  ['kB', KB],
];

/** Bytes in one pg_settings unit: "8kB" → 8192, "kB" → 1024, "16MB" (WAL segments, PG10) → 16777216. */
export function unitBytes(unit: string | null | undefined): number | undefined {
  const m = unit ? /^(\d*)\s*(B|kB|MB|GB|TB)$/.exec(unit) : null;
  if (!m) return undefined;
  const scale = m[2] === 'B' ? 1 : SIZE_UNITS.find(([u]) => u === m[2])![1];
  return (m[1] ? Number(m[1]) : 1) * scale;
}

/** A memory setting in bytes; undefined for a non-size setting or a negative "use another setting" value (-1). */
export function settingBytes(s: Setting | undefined): number | undefined {
  if (!s) return undefined;
  const per = unitBytes(s.unit);
  const n = Number(s.setting);
  if (per === undefined || !Number.isFinite(n) || n < 0) return undefined;
  return n * per;
}

/**
 * A size as PostgreSQL accepts it in a setting: the largest unit that holds it exactly, as SHOW
 * prints it ("4GB", "4854kB"). Rounded down to whole kB, the finest unit every major accepts.
 */
export function pgSize(bytes: number): string {
  const kb = Math.max(0, Math.floor(bytes / KB));
  if (kb === 0) return '0';
  for (const [unit, scale] of SIZE_UNITS) {
    if ((kb * KB) % scale === 0) return `${(kb * KB) / scale}${unit}`;
  }
  return `${kb}kB`;
}

/**
 * An integer with thousands separators, as en-US writes it (1,429): by hand, because the first
 * toLocaleString of a run loads ICU's number formatting, 15-20 ms of a pre-start check
 * (--cpu-prof of the bundled CLI).
 */
export function groupDigits(n: number): string {
  const text = String(Math.round(Math.abs(n)));
  if (!/^\d+$/.test(text)) return n.toLocaleString('en-US'); // 1e21 and beyond: exponent form
  return `${n < 0 ? '-' : ''}${text.replace(/\B(?=(\d{3})+$)/g, ',')}`;
}

/** A size for people to read: exact when it is ("128MB"), else one decimal ("23.5GB"). */
export function humanSize(bytes: number): string {
  if (bytes < KB) return `${bytes}B`;
  for (const [unit, scale] of SIZE_UNITS) {
    if (bytes >= scale) {
      const v = bytes / scale;
      return Number.isInteger(v) ? `${v}${unit}` : `${v.toFixed(1).replace(/\.0$/, '')}${unit}`;
    }
  }
  return `${bytes}B`;
}

/**
 * A recommendation rounded the way people write one: whole GB from 8GB, quarter GB from 1GB,
 * whole MB from 64MB, whole kB below. (MemTotal is a little under the RAM people bought, so a
 * quarter of a "24GB" host comes out as 5.9GB; 6GB is what they would write.)
 */
export function roundRecommendation(bytes: number): number {
  const mb = KB ** 2;
  const gb = KB ** 3;
  if (bytes >= 8 * gb) return Math.round(bytes / gb) * gb;
  if (bytes >= gb) return Math.round(bytes / (gb / 4)) * (gb / 4);
  if (bytes >= 64 * mb) return Math.floor(bytes / mb) * mb;
  return Math.floor(bytes / KB) * KB;
}

/** Seconds as a PostgreSQL duration setting: 300 → "5min", 7200 → "2h", 0.5 → "500ms". */
export function formatDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}min`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** An age in seconds for messages: "3 h 12 min", "45 s". */
export function formatAge(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
