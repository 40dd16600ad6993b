// Start-up time of the command line, against Node's own: `node -e 0`, `pg-preflight --version` and
// `pg-preflight --help`, each run as users run it (a new process), in interleaved rounds so that
// machine load falls on all alike. Run: npm run bench:startup (builds first). Prints medians
// beside the targets of issue 12 (--version within 1.3x of node -e 0, --help within 2.0x); the
// single executable is timed too when dist/exe/ has it (npm run build:exe). No assertions.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { goal } from './goals.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const BUNDLE = join(ROOT, 'dist', 'cli.cjs');
const TSC_CLI = join(ROOT, 'dist', 'src', 'cli.js');
const EXE = join(ROOT, 'dist', 'exe', 'pg-preflight-linux-x64');

interface Case {
  name: string;
  argv: string[];
  /** The target, as a multiple of node -e 0. */
  target?: number;
}

const node = process.execPath;
const cases: Case[] = [
  { name: 'node -e 0', argv: [node, '-e', '0'] },
  { name: 'pg-preflight --version', argv: [node, BUNDLE, '--version'], target: 1.3 },
  { name: 'pg-preflight --help', argv: [node, BUNDLE, '--help'], target: 2.0 },
  // For comparison: the unbundled tsc output, which the bundle replaced as the bin.
  { name: 'node dist/src/cli.js --help', argv: [node, TSC_CLI, '--help'] },
  ...(existsSync(EXE)
    ? [
        { name: 'executable --version', argv: [EXE, '--version'] },
        { name: 'executable --help', argv: [EXE, '--help'] },
      ]
    : []),
];

function once(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const c of cases) once(c.argv); // warm the page cache
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let i = 0; i < ROUNDS; i++) for (const c of cases) times.get(c.name)!.push(once(c.argv));

const base = median(times.get('node -e 0')!);
console.log(`Start-up, median of ${ROUNDS} interleaved runs (Node ${process.version}, ${process.arch})`);
console.log('command                          median ms   x node -e 0   target');
for (const c of cases) {
  const m = median(times.get(c.name)!);
  const ratio = m / base;
  const target = c.target ? `<= ${c.target.toFixed(1)}x ${ratio <= c.target ? 'met' : 'NOT met'}` : '';
  console.log(`${c.name.padEnd(32)}${m.toFixed(1).padStart(10)}${ratio.toFixed(2).padStart(13)}   ${target}`);
}
for (const c of cases.filter((x) => x.target)) {
  const ratio = median(times.get(c.name)!) / base;
  goal(1, 'no server', `${c.name} ${ratio.toFixed(2)}x node -e 0`, `<= ${c.target!.toFixed(1)}x`, ratio <= c.target!);
}
if (existsSync(EXE)) console.log(`executable size: ${(statSync(EXE).size / 1024 / 1024).toFixed(1)} MiB`);
