// The container image (Dockerfile): its rules are checked here always, and the executable it
// copies is run the way the image runs it (its ENTRYPOINT and CMD, its user, HOME and working
// directory, nothing writable). Where a Docker engine and the base image are present, the image
// is built and `check` runs in it with a read-only root file system; elsewhere that test skips.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/built-cli.js';
import { builtExe, EXE_SUPPORTED } from './helpers/built-exe.js';
import { synapseSchemaSql } from './helpers/fixtures.js';
import { readmeShellBlocks } from './helpers/readme.js';
import { createDatabase, dsnFor, sharedServers } from './helpers/servers.js';

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
// Instructions, with comments and line continuations removed.
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'))
  .map((l) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
  });
const all = (op: string) => instructions.filter((i) => i.op === op).map((i) => i.args);
const last = (op: string) => all(op).at(-1);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const pg18 = () => sharedServers().find((s) => s.major === 18)!;
const [readme] = readmeShellBlocks('Container image');
const dockerBuild = readme!.find((l) => l.startsWith('docker build '))!.split(' ');
const dockerRun = readme!.find((l) => l.startsWith('docker run '))!.split(' ');
const tag = dockerBuild[dockerBuild.indexOf('-t') + 1]!;
const k8s = yaml.load(readFileSync(join(ROOT, 'examples', 'kubernetes', 'synapse-deployment.yaml'), 'utf8')) as { spec: { template: { spec: { initContainers: { name: string; image: string; command: string[] }[] } } } };
const initContainer = k8s.spec.template.spec.initContainers.find((c) => c.name === 'pg-preflight')!;

function homeserverYaml(db: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-image-conf-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'homeserver.yaml');
  writeFileSync(file, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: 127.0.0.1\n    port: ${pg18().port}\n`, { mode: 0o644 });
  return file;
}

describe('README and examples name the image this Dockerfile builds', () => {
  it('README builds it from a checkout as pg-preflight:VERSION after npm run build:exe, and runs it read-only', () => {
    expect(readme![0]).toBe('npm ci && npm run build:exe');
    expect(dockerBuild).toEqual(['docker', 'build', '-t', `pg-preflight:${pkg.version}`, '.']);
    expect(dockerRun.slice(0, 5)).toEqual(['docker', 'run', '--rm', '--read-only', tag]);
  });

  it('the Kubernetes init container uses that image, pushed to a registry, and its pg-preflight command', () => {
    expect(initContainer.image).toMatch(new RegExp(`^[\\w.-]+/${tag.replace(/[.]/g, '\\.')}$`));
    expect(initContainer.command[0]).toBe(JSON.parse(last('ENTRYPOINT')!)[0]);
  });

  it('the container example copies the executable out of that image', () => {
    expect(readFileSync(join(ROOT, 'examples', 'container', 'entrypoint.sh'), 'utf8')).toContain(`COPY --from=${tag} /usr/local/bin/pg-preflight /usr/local/bin/pg-preflight`);
    expect(all('COPY')[0]).toMatch(/ \/usr\/local\/bin\/pg-preflight$/);
  });
});

describe('Dockerfile', () => {
  it('one base, pinned to a digest or a release (never latest or a bare name)', () => {
    const from = all('FROM');
    expect(from).toHaveLength(1);
    expect(from[0]).toMatch(/^[\w./-]+(@sha256:[0-9a-f]{64}|:(?!latest)[\w.-]*\d[\w.-]*)$/);
    expect(from[0]).toMatch(/debian|distroless/);
  });

  it('a non-root USER, no ADD at all (so no URL), and exactly the executable npm run build:exe makes is copied', () => {
    const user = last('USER')!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(all('ADD')).toEqual([]);
    expect(all('COPY')).toEqual(['--chmod=0555 dist/exe/pg-preflight-linux-x64 /usr/local/bin/pg-preflight']);
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual(['pg-preflight']);
    // The build context is that one file.
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['*', '!dist/exe/pg-preflight-linux-x64']);
  });

  describe.skipIf(!EXE_SUPPORTED)(`the executable run as the image runs it (skipped: linux-x64 only, this is ${process.platform}-${process.arch})`, () => {
    let bin: string;
    const uid = Number(/^(\d+)/.exec(last('USER')!)![1]);
    const env = Object.fromEntries(all('ENV').flatMap((e) => e.split(/\s+/).map((kv) => kv.split('=') as [string, string])));
    // As the image's user, in its working directory, with its environment and only its PATH.
    const entrypoint = (args: string[]) =>
      spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', bin, ...args], {
        encoding: 'utf8',
        cwd: last('WORKDIR'),
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env },
        timeout: 60_000,
      });

    beforeAll(() => {
      // Where that user may run it, as from /usr/local/bin with --chmod=0555.
      const dir = mkdtempSync(join(tmpdir(), 'pgpf-image-'));
      chmodSync(dir, 0o755);
      bin = join(dir, 'pg-preflight');
      copyFileSync(builtExe(), bin);
      chmodSync(bin, 0o555);
      // Beside it, since that user may not be able to read the checkout.
      copyFileSync(join(ROOT, 'examples', 'container', 'entrypoint.sh'), join(dir, 'entrypoint.sh'));
      chmodSync(join(dir, 'entrypoint.sh'), 0o555);
    }, 180_000);

    it('the image\'s user and home are set numerically and to a place that does not exist', () => {
      expect(uid).toBeGreaterThan(999);
      expect(env.HOME).toBe('/nonexistent');
    });

    it('with no arguments it runs its CMD (--help); --version', () => {
      const cmd = JSON.parse(last('CMD')!) as string[];
      const help = entrypoint(cmd);
      expect(help.stdout).toMatch(/^pg-preflight \[command\] \[options\]/);
      expect(help.status).toBe(0);
      expect(entrypoint(['--version']).stdout).toBe(`${pkg.version}\n`);
    });

    it('the README\'s docker run line, with its DSN pointed at a throwaway database', async () => {
      const db = await createDatabase(pg18(), 'image_readme', { setup: synapseSchemaSql(94) });
      const args = dockerRun.slice(5).map((a) => (a.startsWith('postgresql://') ? dsnFor(pg18(), db) : a));
      expect(args[0]).toBe('check');
      const r = entrypoint(args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('the Kubernetes init container\'s command passes against a healthy database', async () => {
      const db = await createDatabase(pg18(), 'image_k8s', { setup: synapseSchemaSql(94) });
      const config = homeserverYaml(db);
      const r = entrypoint(initContainer.command.slice(1).map((a) => (a === '/data/homeserver.yaml' ? config : a)));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('examples/container/entrypoint.sh with this executable as pg-preflight: checks, then execs the real command', async () => {
      const db = await createDatabase(pg18(), 'image_entry', { setup: synapseSchemaSql(94) });
      const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', join(dirname(bin), 'entrypoint.sh'), '/bin/echo', 'homeserver starting'], {
        encoding: 'utf8',
        cwd: '/',
        env: { PATH: `${dirname(bin)}:/usr/bin:/bin`, HOME: '/nonexistent', SYNAPSE_CONFIG_PATH: homeserverYaml(db), PG_PREFLIGHT_WAIT: '10' },
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/Summary: (.*, )?\d+ ok[\s\S]*\nhomeserver starting\n$/);
      expect(r.status).toBe(0);
    });

    it('check against a database: exit 0, as the image\'s user, who may write nowhere here', async () => {
      const db = await createDatabase(pg18(), 'image_ok', { setup: synapseSchemaSql(94) });
      const r = entrypoint(['check', '--dsn', dsnFor(pg18(), db)]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/Summary: (.*, )?\d+ ok/);
      expect(r.status).toBe(0);
    });
  });

  const base = all('FROM')[0]!;
  const engine = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
  const haveBase = engine && spawnSync('docker', ['image', 'inspect', base], { encoding: 'utf8' }).status === 0;
  const why = !engine ? 'no Docker engine reachable' : !haveBase ? `base image ${base} not present (no registry is reachable)` : '';
  it.skipIf(!haveBase || !EXE_SUPPORTED)(`docker build, then check in the image with --read-only${why ? ` (skipped: ${why})` : ''}`, async () => {
    builtExe();
    const built = spawnSync('docker', ['build', '--pull=false', '-t', tag, ROOT], { encoding: 'utf8', timeout: 300_000 });
    expect(built.status, built.stderr).toBe(0);
    const db = await createDatabase(pg18(), 'image_docker', { setup: synapseSchemaSql(94) });
    // The README's docker run line, on the host's network to reach the throwaway server.
    const args = dockerRun.slice(2).map((a) => (a.startsWith('postgresql://') ? dsnFor(pg18(), db) : a));
    const r = spawnSync('docker', ['run', '--network', 'host', ...args], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(spawnSync('docker', ['run', '--rm', '--read-only', '--entrypoint', 'id', tag, '-u'], { encoding: 'utf8' }).stdout.trim()).not.toBe('0');
  }, 600_000);
});
