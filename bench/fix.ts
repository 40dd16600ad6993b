// How `fix --apply` scales (issue 12 item 5): 10,000 serial tables, one in seven behind its rows
// (1,429 lagging sequences), on a throwaway server with PostgreSQL's default lock settings
// (max_locks_per_transaction 64, max_connections 100). Times, on fresh connections each run:
//  - check: the checks fix runs (those that declare fixes), as `pg-preflight check --only` would;
//  - fix: `pg-preflight fix` without --apply (the same checks, and the plan);
//  - fix --apply: checks, plan, and the transactions that set the 1,429 sequences.
// Between runs the lagging sequences are put back where they were. Goal: fix --apply in under
// twice the check's time, within the default lock table, in at most 4 round trips before it writes.
//
//   npm run build && node dist/bench/fix.js [--server npm:18|system:15] [--size 10000] [--every 7] [--runs 3] [--jit-off]
//
// --jit-off starts the server with jit = off (a Debian build has LLVM; the embedded ones do not).
import { goal, roundTripsText } from './goals.js';
import { buildSerialTables, DEFAULT_SETTINGS, withClient } from './serial-tables.js';
import { resolveTargets } from '../src/config/resolve.js';
import { fixingChecks, fixSequences } from '../src/fix.js';
import { runChecks } from '../src/runner.js';
import { startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';

function parseArgs(argv: string[]) {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return { jitOff: argv.includes('--jit-off'), server: value('server') ?? `npm:${value('major') ?? 18}`, size: Number(value('size') ?? 10_000), every: Number(value('every') ?? 7), runs: Number(value('runs') ?? 3) };
}


/** Puts the lagging sequences back before their rows, a few hundred per transaction. */
async function reset(server: ThrowawayServer, db: string, size: number, every: number): Promise<void> {
  await withClient(server, db, async (c) => {
    const lagging: number[] = [];
    for (let i = 0; i < size; i += every) lagging.push(i);
    for (let k = 0; k < lagging.length; k += 200) {
      await c.query(lagging.slice(k, k + 200).map((i) => `SELECT setval('t${i}_id_seq', 1, false)`).join(';\n'));
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const server = await startThrowawayServer({ server: args.server, settings: args.jitOff ? { ...DEFAULT_SETTINGS, jit: 'off' } : DEFAULT_SETTINGS });
  try {
    const t0 = performance.now();
    const db = await buildSerialTables(server, `fix_${args.size}`, args.size, args.every, 'rows');
    console.log(`PostgreSQL ${server.version}, ${args.size} serial tables, one in ${args.every} behind; default lock settings${args.jitOff ? ', jit off' : ''}; built in ${Math.round(performance.now() - t0)} ms; median of ${args.runs} runs`);
    const dsn = `postgresql://postgres@${server.host}:${server.port}/${db}`;
    const { targets } = resolveTargets({ dsn, env: {} });
    const check: number[] = [];
    const plan: number[] = [];
    const apply: number[] = [];
    let checkTrips = '';
    let checkPath = 0;
    let lagging = 0;
    let outcome = '';
    let roundTripsBeforeWrite = 0;
    for (let run = 0; run < args.runs; run++) {
      let t = performance.now();
      const checked = await runChecks({ targets, checks: fixingChecks() });
      check.push(performance.now() - t);
      if (checked.targets[0]!.error) throw checked.targets[0]!.error;
      ({ text: checkTrips, path: checkPath } = roundTripsText(checked.targets[0]!));

      t = performance.now();
      const planned = await fixSequences({ dsn, env: {} });
      plan.push(performance.now() - t);
      lagging = planned.targets[0]!.plan.length;

      t = performance.now();
      const applied = await fixSequences({ dsn, env: {}, apply: true });
      apply.push(performance.now() - t);
      const a = applied.targets[0]!;
      if (a.error) throw a.error;
      roundTripsBeforeWrite = a.roundTripsBeforeWrite ?? 0;
      if (a.applyError) throw new Error(a.applyError);
      outcome =
        `exit ${applied.exitCode}, ${a.applied!.filter((x) => x.changed).length} changed in ${a.batches!.count} transaction${a.batches!.count > 1 ? 's' : ''} ` +
        `(lock budget ${a.batches!.lockBudget}); ${a.roundTripsBeforeWrite} round trip of the apply before its first write, after the checks' ${a.checkRoundTrips}`;
      await reset(server, db, args.size, args.every);
    }
    const c = median(check);
    const p = median(plan);
    const f = median(apply);
    console.log(`  ${lagging} lagging sequences`);
    console.log(`  check (the checks fix runs): ${Math.round(c)} ms, ${checkTrips} round trips`);
    console.log(`  fix (plan only):             ${Math.round(p)} ms`);
    console.log(`  fix --apply:                 ${Math.round(f)} ms = ${(f / c).toFixed(2)} × check`);
    console.log(`  ${outcome}`);
    goal(5, server.name, `fix --apply of ${lagging} lagging: ${Math.round(f)} ms = ${(f / c).toFixed(2)}x the check (${Math.round(c)} ms)`, '< 2.0x', f / c < 2);
    goal(2, server.name, `fix at ${args.size} tables: ${roundTripsBeforeWrite} round trips of the apply before its first write, after the checks' ${checkTrips}`, '<= 4 in all', roundTripsBeforeWrite + checkPath <= 4);
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
