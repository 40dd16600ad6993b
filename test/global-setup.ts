import type { TestProject } from 'vitest/node';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { serverMatrix } from './helpers/matrix.js';

export interface SharedServer {
  /** What started it (`npm:18`, `system:15`): private servers of the same kind use it. */
  spec: string;
  major: number;
  version: string;
  /** e.g. "PostgreSQL 15.18 (system, JIT)". */
  name: string;
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
  const specs = serverMatrix();
  started = await Promise.all(specs.map((server) => startThrowawayServer({ server })));
  project.provide(
    'servers',
    started.map((s, i) => ({ spec: specs[i]!, major: s.major, version: s.version, name: s.name, host: s.host, port: s.port, socketDir: s.socketDir })),
  );
  console.log(`throwaway servers ready in ${Date.now() - t0} ms: ${started.map((s) => s.name).join(', ')}`);
  if (!specs.some((s) => s.startsWith('system:') || s.startsWith('/'))) {
    console.log('no distribution PostgreSQL server installed (/usr/lib/postgresql/NN/bin/postgres): tests run on the embedded builds only; .ci/run installs postgresql-15');
  }
}

export async function teardown(): Promise<void> {
  await Promise.all(started.map((s) => s.stop()));
}
