// The servers a benchmark runs on unless --servers says otherwise: the embedded PostgreSQL 18 and
// the distribution's own (the newest installed, JIT on as Debian ships it).
import { systemServerMajors } from '../src/throwaway/binaries.js';

export function benchServers(): string[] {
  return ['npm:18', ...systemServerMajors().slice(0, 1).map((m) => `system:${m}`)];
}
