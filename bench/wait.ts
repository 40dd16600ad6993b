// --wait timings on real servers: a server that starts 3 s late, a wrong password, nothing at all.
// Run: npm run bench:wait. Prints one line per case; no assertions (tests assert behaviour).
import pg from 'pg';
import { main } from '../src/cli.js';
import { freePort, startThrowawayServer } from '../src/throwaway/server.js';

const WAIT = 20;
const quietIo = (sink: string[]) => ({ stdout: (t: string) => void sink.push(t), stderr: (t: string) => void sink.push(t), env: { HOME: '/nonexistent' }, isTTY: false });

async function timedRun(argv: string[]): Promise<{ code: number; ms: number; out: string }> {
  const sink: string[] = [];
  const t0 = performance.now();
  const code = await main(argv, quietIo(sink));
  return { code, ms: performance.now() - t0, out: sink.join('') };
}

async function lateServer(): Promise<string> {
  const port = await freePort();
  let readyAt = 0;
  const t0 = performance.now();
  const starter = new Promise((r) => setTimeout(r, 3000)).then(async () => {
    const s = await startThrowawayServer({ major: 18, settings: { port } });
    readyAt = performance.now() - t0;
    return s;
  });
  const r = await timedRun(['--dsn', `postgresql://postgres@127.0.0.1:${port}/postgres`, '--wait', String(WAIT)]);
  const server = await starter;
  await server.stop();
  return `server starting 3 s late: exit ${r.code} after ${(r.ms / 1000).toFixed(2)} s (server ready at ${(readyAt / 1000).toFixed(2)} s, so ${((r.ms - readyAt) / 1000).toFixed(2)} s from ready to the end of the run)`;
}

async function wrongPassword(): Promise<string> {
  const server = await startThrowawayServer({
    major: 18,
    hba: ['local all all trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  });
  const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query("CREATE ROLE app LOGIN PASSWORD 'right-one'");
  await c.end();
  const runs: number[] = [];
  let code = -1;
  for (let i = 0; i < 5; i++) {
    const r = await timedRun(['--dsn', `postgresql://app:wrong-one@127.0.0.1:${server.port}/postgres`, '--wait', String(WAIT)]);
    runs.push(r.ms);
    code = r.code;
  }
  await server.stop();
  runs.sort((a, b) => a - b);
  return `wrong password: exit ${code}, median ${runs[2]!.toFixed(0)} ms over 5 runs (min ${runs[0]!.toFixed(0)}, max ${runs[4]!.toFixed(0)})`;
}

async function nothing(): Promise<string> {
  const port = await freePort();
  const r = await timedRun(['--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--wait', String(WAIT)]);
  return `nothing listening: exit ${r.code} after ${(r.ms / 1000).toFixed(2)} s (--wait ${WAIT})`;
}

for (const bench of [lateServer, wrongPassword, nothing]) console.log(await bench());
