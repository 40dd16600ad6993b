// `npm run bench`: every benchmark of issue 12 in one run, on the embedded PostgreSQL 18 and on the
// distribution's server (Debian's, JIT on), one after another (never beside each other: two cores),
// then each goal's figure beside its target in one table. The sub-benchmarks run alone too:
// bench:startup, bench:check, bench:sequences, bench:fix.
//
//   npm run bench   (node dist/bench/all.js [--quick]: --quick leaves out the 50,000-table size)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { benchServers } from './servers.js';

const here = import.meta.dirname;
const quick = process.argv.includes('--quick');
const servers = benchServers();
if (servers.length < 2) console.log('no distribution PostgreSQL installed (apt-get install postgresql): the embedded 18 only');

const runs: { title: string; script: string; args: string[] }[] = [
  { title: 'start-up (goal 1)', script: 'startup.js', args: [] },
  { title: 'a full check of a Synapse-like database (goals 2, 3)', script: 'full-check.js', args: ['--servers', servers.join(',')] },
  { title: 'sequences at scale (goals 4, 6)', script: 'sequences.js', args: ['--servers', servers.join(','), ...(quick ? ['--sizes', '1000,10000'] : [])] },
  ...servers.map((server) => ({ title: `fix at scale on ${server} (goals 2, 5)`, script: 'fix.js', args: ['--server', server] })),
];

function run(script: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const goals: string[] = [];
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      goals.push(...lines.filter((l) => l.startsWith('goal ')));
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(goals) : reject(new Error(`${script} exited ${code}`))));
  });
}

const all: string[] = [];
for (const r of runs) {
  console.log(`\n=== ${r.title}: node dist/bench/${r.script} ${r.args.join(' ')}`);
  all.push(...(await run(r.script, r.args)));
}
console.log('\n=== Issue 12, every goal: figure | target | met');
for (const line of [...all].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]))) console.log(line);
const missed = all.filter((l) => l.endsWith('NOT met')).length;
console.log(missed === 0 ? 'every target met' : `${missed} target(s) not met`);
