// client-keepalives from homeserver.yaml fixtures. The check judges Synapse's connection (the
// config's host), while pg-preflight's own connection goes to the throwaway server: the fixture's
// target gets the test server's connection, as --dsn with --config does on the command line.
import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTargets } from '../../src/config/resolve.js';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { CheckResult, Finding } from '../../src/types.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { applyYaml, writeConfig } from '../helpers/pasted.js';
import { dsnFor, sharedServers, type SharedServer } from '../helpers/servers.js';
import CHECK from '../../checks/client-keepalives.js';
import { runCheckOn } from '../../src/testing/index.js';
import type { DatabaseTarget } from '../../src/config/target.js';
import { matrixMajors, specFor } from '../helpers/matrix.js';

const fixture = (name: string) => join(FIXTURES, 'config', name);
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** The config's databases, each connected to `dsn` instead (the fixture names hosts that do not exist). */
function redirected(configPath: string | undefined, dsn: string): DatabaseTarget[] {
  const env = { HOME: '/nonexistent' };
  const connection = resolveTargets({ dsn, env }).targets[0]!.connection;
  return configPath ? resolveTargets({ configPaths: [configPath], env }).targets.map((t) => ({ ...t, connection })) : resolveTargets({ dsn, env }).targets;
}

function finding(r: CheckResult, status: Finding['status'], pattern: RegExp): Finding {
  const found = r.findings.filter((f) => f.status === status && pattern.test(f.message));
  expect(found, JSON.stringify(r.findings, null, 2)).toHaveLength(1);
  return found[0]!;
}

function configStep(f: Finding): string {
  return f.remediation!.find((s) => s.kind === 'config')!.text;
}

describe.each(sharedServers())('client-keepalives on PostgreSQL $major', (server: SharedServer) => {
  const dsn = () => dsnFor(server, 'postgres');

  it('remote host without keepalives: warning with the seed\'s YAML, connect_timeout info; applying both gives ok', async () => {
    const r = (await runCheckOn(CHECK, redirected(fixture('keepalives-remote.yaml'), dsn()))).result;
    expect(r.status).toBe('warning');
    const warn = finding(r, 'warning', /synapse-db\.internal over the network without keepalives_idle, keepalives_interval, keepalives_count.*#8574/);
    expect(r.details ?? warn.details).toMatchObject({ host: 'synapse-db.internal', transport: 'remote', serverKeepalives: { idle: expect.any(String), interval: expect.any(String), count: expect.any(String) } });
    const yamlText = configStep(warn);
    expect(yaml.load(yamlText)).toEqual({ database: { args: { keepalives_idle: 10, keepalives_interval: 10, keepalives_count: 3 } } });
    const info = finding(r, 'info', /no connect_timeout/);
    const fixed = applyYaml(applyYaml(fixture('keepalives-remote.yaml'), yamlText), configStep(info));
    const again = (await runCheckOn(CHECK, redirected(fixed, dsn()))).result;
    expect(again.status).toBe('ok');
    expect(again.message).toMatch(/idle=10, interval=10, count=3 and connect_timeout=10/);
  });

  it('keys directly under database: are an error (Synapse ignores them there); moving them under args as printed gives ok', async () => {
    const r = (await runCheckOn(CHECK, redirected(fixture('keepalives-misplaced.yaml'), dsn()))).result;
    expect(r.status).toBe('error');
    const err = finding(r, 'error', /keepalives_idle, keepalives_interval, keepalives_count, connect_timeout sit directly under database:, where Synapse ignores them/);
    // Under database:, they count as missing from args as well.
    finding(r, 'warning', /without keepalives_idle/);
    const fixed = applyYaml(fixture('keepalives-misplaced.yaml'), configStep(err), (doc) => {
      const section = doc.database as Record<string, unknown>;
      for (const k of ['keepalives_idle', 'keepalives_interval', 'keepalives_count', 'connect_timeout']) delete section[k];
    });
    expect(((await runCheckOn(CHECK, redirected(fixed, dsn()))).result).status).toBe('ok');
  });

  it('the databases: form: the YAML names the entry', async () => {
    const [main, state] = (await runCheckOn(CHECK, redirected(fixture('keepalives-databases.yaml'), dsn()))).results;
    expect(main!.status).toBe('warning');
    expect(state!.status).toBe('error');
    const err = finding(state!, 'error', /keepalives_idle sits directly under databases\.state_db:/);
    expect(yaml.load(configStep(err))).toEqual({ databases: { state_db: { args: { keepalives_idle: 10 } } } });
    const warn = finding(main!, 'warning', /without keepalives_idle/);
    expect(Object.keys((yaml.load(configStep(warn)) as { databases: object }).databases)).toEqual(['main_db']);
  });

  it('all set under args: ok, with the values and the server\'s own keepalives as detail', async () => {
    const r = (await runCheckOn(CHECK, redirected(fixture('keepalives-set.yaml'), dsn()))).result;
    expect(r.status).toBe('ok');
    expect(r.details).toMatchObject({ keywords: { keepalives_idle: '10', keepalives_interval: '10', keepalives_count: '3', connect_timeout: '10' } });
  });

  it.each([
    ['keepalives-socket.yaml', /over the Unix socket \/var\/run\/postgresql: TCP keepalives do not apply/],
    ['keepalives-hostaddr.yaml', /connects to 127\.0\.0\.1, a loopback address/],
  ])('%s: ok, nothing to add', async (name, message) => {
    const r = (await runCheckOn(CHECK, redirected(fixture(name), dsn()))).result;
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(message);
  });

  it('cp_reconnect: false is a warning; the printed YAML sets it back', async () => {
    const r = (await runCheckOn(CHECK, redirected(fixture('keepalives-no-reconnect.yaml'), dsn()))).result;
    expect(r.status).toBe('warning');
    const f = finding(r, 'warning', /cp_reconnect is false/);
    const fixed = applyYaml(fixture('keepalives-no-reconnect.yaml'), configStep(f));
    expect(((await runCheckOn(CHECK, redirected(fixed, dsn()))).result).status).toBe('ok');
  });

  it('a host name that this machine resolves to loopback (an /etc/hosts alias): the server\'s address says loopback, ok', async (ctx) => {
    const name = hostname();
    const resolved = await lookup(name).catch(() => undefined);
    if (!resolved || !resolved.address.startsWith('127.')) ctx.skip();
    const config = writeConfig(`database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: postgres\n    host: ${name}\n    port: ${server.port}\n`);
    const r = await runCli(['--config', config, '--only', 'client-keepalives', '--format', 'json']);
    const result = JSON.parse(r.stdout).results[0];
    expect(result.status).toBe('ok');
    expect(result.details).toMatchObject({ host: name, transport: 'loopback' });
  });

  it('the command line: --dsn for the connection, --config for what Synapse will use', async () => {
    const r = await runCli(['--dsn', dsn(), '--config', fixture('keepalives-misplaced.yaml'), '--only', 'client-keepalives', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ id: 'client-keepalives', status: 'error' });
  });
});

describe.skipIf(!lanAddress).each(matrixMajors())('client-keepalives against a non-loopback address of this machine (PostgreSQL %i)', (major) => {
  let server: ThrowawayServer;
  beforeAll(async () => {
    server = await startThrowawayServer({ server: specFor(major), settings: { listen_addresses: '*' }, hba: 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all 0.0.0.0/0 trust\n' });
  });
  afterAll(async () => server?.stop());

  it('DSN only: the keywords come from the URI; adding the printed query string gives ok', async () => {
    const dsn = `postgresql://postgres@${lanAddress}:${server.port}/postgres`;
    const r = (await runCheckOn(CHECK, redirected(undefined, dsn))).result;
    expect(r.status).toBe('warning');
    const text = r.findings.flatMap((f) => f.remediation ?? []).filter((s) => /URI's query string/.test(s.title ?? '')).map((s) => s.text);
    expect(text).toEqual(['keepalives_idle=10&keepalives_interval=10&keepalives_count=3', 'connect_timeout=10']);
    const again = (await runCheckOn(CHECK, redirected(undefined, `${dsn}?${text.join('&')}`))).result;
    expect(again.status).toBe('ok');
    expect(again.details).toMatchObject({ transport: 'remote', host: lanAddress });
  });

  it('homeserver.yaml naming that address: a real TCP connection across an interface, warned about', async () => {
    const config = writeConfig(`database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: postgres\n    host: ${lanAddress}\n    port: ${server.port}\n`);
    const r = await runCli(['--config', config, '--only', 'client-keepalives', '--format', 'json']);
    const result = JSON.parse(r.stdout).results[0];
    expect(result.status).toBe('warning');
    const fixed = applyYaml(config, result.findings[0].remediation[0].text);
    const yamlDoc = yaml.load(readFileSync(fixed, 'utf8')) as { database: { args: Record<string, unknown> } };
    expect(yamlDoc.database.args).toMatchObject({ host: lanAddress, keepalives_count: 3 });
  });
});
