// How long a failed connection takes to come out as a diagnosis (exit 3), per case, through the
// whole CLI: median of several runs against a throwaway server. Also the time to exit 3 on a
// server that accepts TCP and never answers, and on an ident rule whose ident server never
// replies (port 113: needs root). Run: npm run build && node dist/bench/connection-diagnosis.js
import net from 'node:net';
import pg from 'pg';
import { main } from '../src/cli.js';
import { freePort, startThrowawayServer } from '../src/throwaway/server.js';

const RUNS = Number(process.env.RUNS ?? 7);

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, env: { HOME: '/nonexistent' }, isTTY: false });
  return { code, out };
}

async function timeIt(argv: string[], runs = RUNS): Promise<{ median: number; max: number; code: string }> {
  const times: number[] = [];
  let code = '';
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await cli([...argv, '--format', 'json']);
    times.push(performance.now() - t0);
    if (r.code !== 3) throw new Error(`expected exit 3, got ${r.code}: ${r.out}`);
    code = JSON.parse(r.out).error.code;
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]!, code };
}

const ADMIN = 'local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n';

for (const major of [10, 18]) {
  const server = await startThrowawayServer({ major, hba: ADMIN });
  const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'pw'; CREATE ROLE synapse_user LOGIN PASSWORD 'pw'");
  await c.end();
  const tcp = (user: string, host = '127.0.0.1', db = 'postgres') => `postgresql://${user}:pw@${host}:${server.port}/${db}?sslmode=disable`;
  const cases: [string, string, string][] = [
    ['ident, 127.0.0.1', 'host all all 127.0.0.1/32 ident', tcp('synapse_user')],
    ['ident, localhost (name resolved)', 'host all all 127.0.0.1/32 ident', tcp('synapse_user', 'localhost')],
    ['peer, socket', 'local all all peer', `postgresql://synapse_user:pw@/postgres?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`],
    ['no pg_hba.conf entry', '', tcp('synapse_user')],
    ['scram rule, md5 password', 'host all all 127.0.0.1/32 scram-sha-256', tcp('md5user')],
    ['role missing', 'host all all 127.0.0.1/32 trust', tcp('nobody_here')],
    ['database missing', 'host all all 127.0.0.1/32 trust', tcp('synapse_user', '127.0.0.1', 'nodb')],
  ];
  for (const [name, hba, dsn] of cases) {
    await server.writeHba(`${ADMIN}${hba}\n`);
    const t = await timeIt(['--dsn', dsn]);
    console.log(`PG${major}  ${name.padEnd(34)} ${t.code.padEnd(22)} median ${t.median.toFixed(1)} ms, max ${t.max.toFixed(1)} ms`);
  }
  const refusedPort = await freePort();
  const refused = await timeIt(['--dsn', `postgresql://u@127.0.0.1:${refusedPort}/db`]);
  console.log(`PG${major}  ${'nothing listening'.padEnd(34)} ${refused.code.padEnd(22)} median ${refused.median.toFixed(1)} ms`);

  // An ident server that accepts and never replies: the login hangs until our timeout.
  const held: net.Socket[] = [];
  const identd = await new Promise<net.Server | undefined>((resolve) => {
    const s = net.createServer((sock) => { held.push(sock); });
    s.once('error', () => resolve(undefined));
    s.listen(113, '127.0.0.1', () => resolve(s));
  });
  if (identd) {
    await server.writeHba(`${ADMIN}host all all 127.0.0.1/32 ident\n`);
    const t = await timeIt(['--dsn', tcp('synapse_user'), '--connect-timeout', '2'], 3);
    console.log(`PG${major}  ${'silent ident server, timeout 2 s'.padEnd(34)} ${t.code.padEnd(22)} median ${t.median.toFixed(1)} ms, max ${t.max.toFixed(1)} ms`);
    for (const s of held) s.destroy();
    identd.close();
  } else {
    console.log(`PG${major}  silent ident server: port 113 not available (not root, or taken), skipped`);
  }
  await server.stop();
}

const silent = net.createServer(() => undefined);
await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
const port = (silent.address() as net.AddressInfo).port;
for (const timeout of ['1', '2', '5']) {
  const t = await timeIt(['--dsn', `postgresql://u@127.0.0.1:${port}/db`, '--connect-timeout', timeout], 3);
  console.log(`silent TCP listener, --connect-timeout ${timeout}:`.padEnd(40), `${t.code.padEnd(22)} median ${t.median.toFixed(1)} ms, max ${t.max.toFixed(1)} ms`);
}
silent.close();
