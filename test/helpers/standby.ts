// A primary and its streaming standby (pg_basebackup -R) for a describe block, where a
// pg_basebackup able to copy that major is installed; the npm server builds ship none.
import { afterAll, beforeAll } from 'vitest';
import type { ThrowawayServer } from '../../src/throwaway/server.js';
import { findBaseBackup, startPrimary, startStandby } from '../../src/throwaway/standby.js';
import { specFor } from './matrix.js';

export interface StreamingPair {
  /** The pg_basebackup used; undefined where none can copy this major (the tests then skip). */
  basebackup: string | undefined;
  /** For test names: which pg_basebackup, or why the test is skipped. */
  why: string;
  primary(): ThrowawayServer;
  standby(): ThrowawayServer;
}

/** Call inside a describe: the pair starts before its tests and stops after them. */
export function streamingPair(major: number): StreamingPair {
  const basebackup = findBaseBackup(major);
  let primary: ThrowawayServer | undefined;
  let standby: ThrowawayServer | undefined;
  beforeAll(async () => {
    if (!basebackup) return;
    primary = await startPrimary({ server: specFor(major) });
    standby = await startStandby(primary, basebackup);
  });
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
  });
  return {
    basebackup,
    why: basebackup ? `(pg_basebackup: ${basebackup})` : `(skipped: no pg_basebackup for PostgreSQL ${major} or newer is installed; the npm server builds ship none)`,
    primary: () => primary!,
    standby: () => standby!,
  };
}
