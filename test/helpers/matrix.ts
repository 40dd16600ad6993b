// The servers every check is tested on: the oldest major pg-preflight supports and a current one
// (embedded builds from npm), and the distribution's own server where it is installed — Debian's
// has LLVM JIT and the system ICU, which the embedded builds lack, and users run it.
import { systemServerMajors, type ServerSpec } from '../../src/throwaway/binaries.js';

/** PGPF_TEST_SERVERS=npm:10,npm:18,system:16 (or a bin directory) points the tests at other servers. */
export function serverMatrix(): string[] {
  const given = process.env.PGPF_TEST_SERVERS;
  if (given) return given.split(',').map((s) => s.trim()).filter(Boolean);
  const system = systemServerMajors()[0];
  return ['npm:10', 'npm:18', ...(system ? [`system:${system}`] : [])];
}

/** Whether the matrix has a distribution server; tests that need one skip visibly without it. */
export function matrixHasSystemServer(): boolean {
  return serverMatrix().some((s: ServerSpec) => String(s).startsWith('system:') || String(s).startsWith('/'));
}

/** The matrix's majors, for tests that start private servers of each kind (one per major). */
export function matrixMajors(): number[] {
  return serverMatrix().map((s) => {
    const m = /(\d+)$/.exec(s);
    if (!m || s.startsWith('/')) throw new Error(`PGPF_TEST_SERVERS entry "${s}" has no major; private-server tests need npm:N or system:N`);
    return Number(m[1]);
  });
}

/** The matrix entry of a major, so that a private server is the same build as the shared one. */
export function specFor(major: number): string {
  return serverMatrix().find((s) => s.endsWith(`:${major}`) || s === String(major)) ?? String(major);
}
