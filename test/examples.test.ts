// Every deploy example under examples/ is exercised here: parsed, checked for consistency, and its
// pg-preflight command run against a throwaway database (paths swapped for temporary ones).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../src/registry.js';
import { loadRules } from '../src/rules/load.js';
import { resolveRules } from '../src/rules/resolve.js';
import { freePort, startThrowawayServer, type ThrowawayServer } from '../src/throwaway/server.js';
import { builtCli, ROOT } from './helpers/built-cli.js';
import { runCli } from './helpers/cli.js';
import { createDatabase, dsnFor, sharedServers, type SharedServer } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

const EXAMPLES = join(ROOT, 'examples');
const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const read = (path: string) => readFileSync(join(EXAMPLES, path), 'utf8');

type Yaml = Record<string, unknown> & { [key: string]: any };

/** Splits a command line as sh would for the simple lines examples use: quotes and $VARS. */
function shellWords(line: string, vars: Record<string, string> = {}): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const expand = (s: string) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => vars[name] ?? '');
    words.push(m[1] !== undefined ? expand(m[1]) : m[2] !== undefined ? m[2] : expand(m[3]!));
  }
  return words;
}

function homeserverConfig(dir: string, server: Pick<SharedServer, 'port'>, dbname: string): string {
  const path = join(dir, 'homeserver.yaml');
  writeFileSync(path, `server_name: example.org\ndatabase:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${dbname}\n    host: 127.0.0.1\n    port: ${server.port}\n`);
  return path;
}

/** Formats the check command accepts; the SARIF/JUnit/GitHub reporters arrive in their own change. */
const checkHelp = (await runCli(['check', '--help'])).stdout;
const supportsFormat = (format: string) => new RegExp(`"${format}"`).test(checkHelp);

let healthy: string;
let broken: string;
beforeAll(async () => {
  healthy = await createDatabase(pg18(), 'ex_ok', { setup: synapseSchemaSql(94) });
  broken = await createDatabase(pg18(), 'ex_bad', { encoding: 'SQL_ASCII', setup: synapseSchemaSql(94) });
});

describe('rules/pg-preflight.yaml', () => {
  it('is a valid rules file for the built-in checks, and a run with it passes on a healthy database', async () => {
    const file = loadRules({ path: join(EXAMPLES, 'rules', 'pg-preflight.yaml'), cwd: ROOT })!;
    const rules = resolveRules(file, allChecks());
    expect(rules).toMatchObject({ failOn: 'error', severity: { 'server-version': 'warning' }, off: [] });
    expect(rules.waivers).toEqual([expect.objectContaining({ check: 'database-locale', database: 'master', reason: expect.stringMatching(/\S/), expires: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) })]);
    const r = await runCli(['--dsn', dsnFor(pg18(), healthy), '--rules', join(EXAMPLES, 'rules', 'pg-preflight.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Whether the waiver is still in force depends on today; either way the run passes.
    expect(r.stdout).toMatch(/^Rules: examples\/rules\/pg-preflight\.yaml \(severity: server-version warning; (1 waiver in force|0 waivers in force, 1 expired)\)$/m);
  });
});

describe('systemd drop-in for matrix-synapse.service', () => {
  const conf = read('systemd/matrix-synapse.service.d/pg-preflight.conf');
  const execStartPre = /^ExecStartPre=(.*)$/m.exec(conf)![1]!;
  let dir: string;
  let wrapper: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgpf-systemd-'));
    // Stands in for /usr/local/bin/pg-preflight (npm install -g puts such a launcher there).
    wrapper = join(dir, 'pg-preflight');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${builtCli()} "$@"\n`);
    chmodSync(wrapper, 0o755);
  });

  /** The drop-in's command with the binary and config paths pointed at test files. */
  function command(dbname: string): string[] {
    const confd = join(dir, `conf.d-${dbname}`);
    mkdirSync(confd, { recursive: true });
    // The Debian package reads homeserver.yaml and then conf.d/*.yaml; put the database in the latter.
    writeFileSync(join(confd, 'database.yaml'), readFileSync(homeserverConfig(confd, pg18(), dbname), 'utf8').replace('server_name: example.org\n', ''));
    const main = join(dir, `homeserver-${dbname}.yaml`);
    writeFileSync(main, 'server_name: example.org\n');
    return shellWords(
      execStartPre
        .replace('/usr/local/bin/pg-preflight', wrapper)
        .replace('/etc/matrix-synapse/homeserver.yaml', main)
        .replace('/etc/matrix-synapse/conf.d/', `${confd}/`),
    );
  }

  it('runs the check quietly, waiting for the database, with the Debian package paths', () => {
    expect(conf).toMatch(/^\[Service\]$/m);
    expect(shellWords(execStartPre)).toEqual([
      '/usr/local/bin/pg-preflight', 'check', '--quiet', '--wait', '60',
      '--config', '/etc/matrix-synapse/homeserver.yaml', '--config', '/etc/matrix-synapse/conf.d/',
    ]);
    // The start timeout leaves room for the wait.
    expect(Number(/^TimeoutStartSec=(\d+)$/m.exec(conf)![1])).toBeGreaterThan(60);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!analyze)('systemd-analyze verify accepts the unit with this drop-in', () => {
    const units = mkdtempSync(join(tmpdir(), 'pgpf-units-'));
    writeFileSync(join(units, 'matrix-synapse.service'), '[Unit]\nDescription=Synapse stand-in\n[Service]\nExecStart=/bin/true\n');
    mkdirSync(join(units, 'matrix-synapse.service.d'));
    writeFileSync(join(units, 'matrix-synapse.service.d', 'pg-preflight.conf'), conf.replace('/usr/local/bin/pg-preflight', wrapper));
    const r = spawnSync('systemd-analyze', ['verify', join(units, 'matrix-synapse.service')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).not.toContain('pg-preflight.conf');
    expect(r.status).toBe(0);
  });

  it('its ExecStartPre, run as systemd runs it: silent and 0 when all is well, the problems and 1 otherwise', () => {
    const [bin, ...args] = command(healthy);
    const ok = spawnSync(bin!, args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    expect(ok.stderr).toBe('');
    // --quiet: no ok lines and no errors (a check may warn about a throwaway server's tiny settings).
    expect(ok.stdout).not.toMatch(/✔|✖/);
    expect(ok.status).toBe(0);
    const [bin2, ...args2] = command(broken);
    const bad = spawnSync(bin2!, args2, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/✖ error\s+database-encoding/);
    expect(bad.stdout).not.toMatch(/✔ ok/);
  });
});

describe('container entrypoint script', () => {
  const script = join(EXAMPLES, 'container', 'entrypoint.sh');
  let late: ThrowawayServer | undefined;
  afterEach(async () => late?.stop());

  function runEntrypoint(config: string, command: string[]): Promise<{ status: number | null; stdout: string; stderr: string; pid: number }> {
    const child = spawn('/bin/sh', [script, ...command], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', SYNAPSE_CONFIG_PATH: config, PG_PREFLIGHT: `${process.execPath} ${builtCli()}`, PG_PREFLIGHT_WAIT: '30' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr, pid: child.pid! })));
  }

  const realCommand = [process.execPath, '-e', "console.log('homeserver starting as pid ' + process.pid); process.exitCode = 7"];

  it('waits for a database that starts 3 s after the container, then execs the real command', async () => {
    builtCli();
    const port = await freePort();
    const config = homeserverConfig(mkdtempSync(join(tmpdir(), 'pgpf-entry-')), { port }, 'postgres');
    const starter = new Promise((r) => setTimeout(r, 3000)).then(async () => {
      late = await startThrowawayServer({ major: 18, settings: { port } });
    });
    const r = await runEntrypoint(config, realCommand);
    await starter;
    expect(r.stderr).toMatch(/^pg-preflight: waiting for master: nothing accepts connections at 127\.0\.0\.1:\d+/m);
    expect(r.stderr).toMatch(/accepted the login after/);
    expect(r.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
    // exec: the real command replaced the shell (same pid) and its exit status is the container's.
    expect(r.stdout).toContain(`homeserver starting as pid ${r.pid}`);
    expect(r.status).toBe(7);
  }, 60_000);

  it('a failing check stops the container: exit 1 and the real command never runs', async () => {
    const config = homeserverConfig(mkdtempSync(join(tmpdir(), 'pgpf-entry-')), pg18(), broken);
    const r = await runEntrypoint(config, realCommand);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/✖ error\s+database-encoding/);
    expect(r.stdout).not.toContain('homeserver starting');
  });

  it('without a command it says how to use it (exit 2)', async () => {
    const r = await runEntrypoint('/nonexistent.yaml', []);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: .*entrypoint\.sh COMMAND/);
  });
});

describe('Kubernetes init container', () => {
  const doc = yaml.load(read('kubernetes/synapse-deployment.yaml')) as Yaml;
  const pod = doc.spec.template.spec;
  const init = pod.initContainers.find((c: Yaml) => c.name === 'pg-preflight');

  it('mounts the homeserver.yaml the synapse container uses, read-only', () => {
    expect(doc).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
    const config = init.command[init.command.indexOf('--config') + 1] as string;
    const mount = init.volumeMounts.find((m: Yaml) => config.startsWith(`${m.mountPath}/`));
    expect(mount).toMatchObject({ readOnly: true });
    const synapse = pod.containers.find((c: Yaml) => c.name === 'synapse');
    expect(synapse.volumeMounts).toContainEqual(expect.objectContaining({ name: mount.name, mountPath: mount.mountPath }));
    expect(synapse.env).toContainEqual({ name: 'SYNAPSE_CONFIG_PATH', value: config });
  });

  it('its command passes against a healthy database and fails against a broken one', async () => {
    expect(init.command[0]).toBe('pg-preflight');
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-k8s-'));
    const argv = (db: string) => (init.command as string[]).slice(1).map((a) => (a === '/data/homeserver.yaml' ? homeserverConfig(mkdtempSync(join(dir, 'c-')), pg18(), db) : a));
    const ok = await runCli(argv(healthy));
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).not.toMatch(/✔|✖/);
    const bad = await runCli(argv(broken));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/database-encoding/);
  });
});

describe('Kubernetes CronJob over every homeserver of a namespace', () => {
  const doc = yaml.load(read('kubernetes/pg-preflight-cronjob.yaml')) as Yaml;
  const pod = doc.spec.jobTemplate.spec.template.spec;
  const check = pod.initContainers.find((c: Yaml) => c.name === 'pg-preflight');
  const push = pod.containers.find((c: Yaml) => c.name === 'push');
  const script = check.command[2] as string;
  const HOMESERVERS = '/etc/pg-preflight/homeservers';

  it('checks the Secret\'s homeserver files in an init container, then pushes the metrics file it wrote', () => {
    expect(doc).toMatchObject({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { concurrencyPolicy: 'Forbid' } });
    expect(check.image).toBe('registry.example.com/pg-preflight:0.1.0');
    expect(check.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const secret = pod.volumes.find((v: Yaml) => v.secret);
    expect(check.volumeMounts).toContainEqual({ name: secret.name, mountPath: HOMESERVERS, readOnly: true });
    expect(script).toContain(`${HOMESERVERS}/*.yaml`);
    const output = /--output (\S+)/.exec(script)![1]!;
    const metrics = pod.volumes.find((v: Yaml) => v.emptyDir);
    const written = check.volumeMounts.find((m: Yaml) => m.name === metrics.name);
    expect(output.startsWith(`${written.mountPath}/`)).toBe(true);
    expect(push.volumeMounts).toContainEqual({ name: metrics.name, mountPath: written.mountPath, readOnly: true });
    expect(push.command).toContain(`@${output}`);
    expect(script).toMatch(/--format prometheus/);
    expect(pod.restartPolicy).toBe('Never');
  });

  let pushed: { prom: string; metrics: string } | undefined;
  it('its script writes one series per homeserver database, a down one as database_up 0, and exits 0; bad input fails the job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-cron-'));
    const homeservers = join(dir, 'homeservers');
    const metrics = join(dir, 'metrics');
    mkdirSync(metrics);
    mkdirSync(homeservers);
    const gone = await freePort();
    for (const [name, db, port] of [['alpha', healthy, pg18().port], ['beta', broken, pg18().port], ['gone', 'synapse', gone]] as const) {
      writeFileSync(join(homeservers, `${name}.yaml`), readFileSync(homeserverConfig(mkdtempSync(join(dir, 'c-')), { port }, db), 'utf8'));
    }
    const wrapper = join(dir, 'pg-preflight');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${builtCli()} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const runScript = (from: string) =>
      spawnSync('/bin/sh', ['-c', script.replaceAll(HOMESERVERS, from).replaceAll('/metrics/', `${metrics}/`)], {
        encoding: 'utf8',
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: '/nonexistent' },
      });
    const r = runScript(homeservers);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const file = join(metrics, 'pg_preflight.prom');
    const prom = readFileSync(file, 'utf8');
    const label = (name: string) => `${homeservers}/${name}.yaml:master`;
    expect(prom).toContain(`pg_preflight_database_up{database="${label('alpha')}",datname="${healthy}"} 1`);
    expect(prom).toContain(`pg_preflight_database_up{database="${label('gone')}",datname="synapse"} 0`);
    expect(prom).toContain(`pg_preflight_check_severity{database="${label('beta')}",check="database-encoding"} 4`);
    // Bad input (no homeserver file there) is not a result: the job fails and nothing is pushed.
    const empty = join(dir, 'none');
    mkdirSync(empty);
    const bad = runScript(empty);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/^pg-preflight: .*none\/\*\.yaml/m);

    pushed = { prom, metrics };
  });

  const CURL = spawnSync('curl', ['--version']).status === 0;
  it.skipIf(!CURL)(`the push container PUTs that file to the Pushgateway, under the namespace${CURL ? '' : ' (skipped: curl not installed)'}`, async () => {
    expect(pushed).toBeDefined();
    const received: { method?: string; url?: string; body: string } = { body: '' };
    const gateway = createServer((req, res) => {
      received.method = req.method;
      received.url = req.url;
      req.on('data', (d: Buffer) => (received.body += d.toString('utf8')));
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const port = (gateway.address() as AddressInfo).port;
      const argv = (push.command as string[]).map((a) =>
        a.replace('$(POD_NAMESPACE)', 'synapse-ns').replace('http://pushgateway.monitoring.svc:9091', `http://127.0.0.1:${port}`).replace('@/metrics/', `@${pushed!.metrics}/`),
      );
      // Asynchronously: the stand-in Pushgateway answers from this process's event loop.
      const code = await new Promise<number | null>((resolve) => spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }).on('exit', resolve));
      expect(code).toBe(0);
      expect(received).toEqual({ method: 'PUT', url: '/metrics/job/pg-preflight/namespace/synapse-ns', body: pushed!.prom });
    } finally {
      gateway.close();
    }
  });
});

describe('CI examples', () => {
  it('the format detection that gates the runs below sees the formats that exist', () => {
    expect(supportsFormat('json')).toBe(true);
    expect(supportsFormat('no-such-format')).toBe(false);
  });

  const home = process.cwd();
  afterEach(() => process.chdir(home));

  /** Runs a CI line's pg-preflight invocation in a scratch directory, with the job's variables. */
  async function runLine(line: string, vars: Record<string, string>, db: string) {
    const argv = shellWords(line, { ...vars, DATABASE_URL: dsnFor(pg18(), db) });
    expect(argv[0]).toBe('pg-preflight');
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-ci-'));
    process.chdir(dir);
    const r = await runCli(argv.slice(1), { PGPASSWORD: vars.PGPASSWORD });
    return { ...r, dir };
  }

  describe('GitHub Actions workflow', () => {
    const wf = yaml.load(read('github-actions/pg-preflight.yml')) as Yaml;
    const job = wf.jobs.preflight;
    const gate = job.steps.find((s: Yaml) => typeof s.run === 'string' && s.run.startsWith('pg-preflight '));
    const upload = job.steps.find((s: Yaml) => String(s.uses).startsWith('github/codeql-action/upload-sarif'));

    it('has a postgres service, runs the gate, and uploads the SARIF file the gate writes', () => {
      expect(job.services.postgres.image).toMatch(/^postgres:\d+$/);
      expect(job.services.postgres.env.POSTGRES_INITDB_ARGS).toBe('--encoding=UTF8 --locale=C');
      expect(wf.permissions['security-events']).toBe('write');
      const argv = shellWords(gate.run);
      const report = argv[argv.indexOf('--report') + 1]!;
      expect(report).toBe(`sarif:${upload.with.sarif_file}`);
      expect(upload.if).toBe('always()');
      expect(argv).toContain('--wait');
    });

    it.skipIf(!supportsFormat('sarif') || !supportsFormat('github'))('the gate command runs: annotations on stdout, the SARIF file written', async () => {
      const ok = await runLine(gate.run, job.env, healthy);
      expect(ok.code).toBe(0);
      expect(existsSync(join(ok.dir, upload.with.sarif_file))).toBe(true);
      const bad = await runLine(gate.run, job.env, broken);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^::error /m);
      expect(JSON.parse(readFileSync(join(bad.dir, upload.with.sarif_file), 'utf8')).version).toBe('2.1.0');
    });
  });

  describe('GitLab CI job', () => {
    const ci = yaml.load(read('gitlab-ci/pg-preflight.gitlab-ci.yml')) as Yaml;
    const job = ci['pg-preflight'];
    const gate = (job.script as string[]).find((l) => l.startsWith('pg-preflight '))!;

    it('has a postgres service, runs the gate, and hands GitLab the JUnit file it writes', () => {
      expect(job.services[0].name).toMatch(/^postgres:\d+$/);
      expect(job.variables.DATABASE_URL).toMatch(new RegExp(`@${job.services[0].alias}:5432/`));
      const argv = shellWords(gate);
      expect(argv[argv.indexOf('--report') + 1]).toBe(`junit:${job.artifacts.reports.junit}`);
      expect(job.artifacts.when).toBe('always');
    });

    it.skipIf(!supportsFormat('junit'))('the gate command runs and writes the JUnit file', async () => {
      const bad = await runLine(gate, job.variables, broken);
      expect(bad.code).toBe(1);
      const xml = readFileSync(join(bad.dir, job.artifacts.reports.junit), 'utf8');
      expect(xml).toMatch(/<testcase name="database-encoding"[^>]*>\s*<failure /);
      expect(xml).toMatch(/<testsuite[^>]*failures="[1-9]/);
    });
  });
});

// The examples directory holds nothing a test does not look at (besides the two READMEs).
describe('examples/', () => {
  it('every example file is exercised above or in test/plugins.test.ts', () => {
    const listed = spawnSync('git', ['ls-files', '--others', '--cached', '--exclude-standard', 'examples'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n');
    const covered = [
      'examples/README.md',
      'examples/rules/pg-preflight.yaml',
      'examples/systemd/matrix-synapse.service.d/pg-preflight.conf',
      'examples/container/entrypoint.sh',
      'examples/kubernetes/synapse-deployment.yaml',
      'examples/kubernetes/pg-preflight-cronjob.yaml',
      'examples/github-actions/pg-preflight.yml',
      'examples/gitlab-ci/pg-preflight.gitlab-ci.yml',
      // vitest runs the plugin's CheckTester cases.
      'examples/plugin-required-table/test/required-tables.test.ts',
      // test/plugins.test.ts builds and runs these.
      'examples/plugin-required-table/README.md',
      'examples/plugin-required-table/package.json',
      'examples/plugin-required-table/tsconfig.json',
      'examples/plugin-required-table/src/index.ts',
    ];
    expect(listed.sort()).toEqual(covered.sort());
  });
});
