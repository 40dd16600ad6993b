import type { TestProject } from 'vitest/node';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';

/** The oldest major pg-preflight supports and a current one; every check is tested on both. */
export const MAJORS = [10, 18] as const;

export interface SharedServer {
  major: number;
  version: string;
  host: string;
  port: number;
  socketDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: SharedServer[];
  }
}

let started: ThrowawayServer[] = [];

export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  started = await Promise.all(MAJORS.map((major) => startThrowawayServer({ major })));
  project.provide(
    'servers',
    started.map((s) => ({ major: s.major, version: s.version, host: s.host, port: s.port, socketDir: s.socketDir })),
  );
  console.log(`throwaway servers ${started.map((s) => `PostgreSQL ${s.version}`).join(', ')} ready in ${Date.now() - t0} ms`);
}

export async function teardown(): Promise<void> {
  await Promise.all(started.map((s) => s.stop()));
}
