import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { createDatabase, sharedServers } from './helpers/servers.js';
import { synapseSchemaSql } from './helpers/fixtures.js';

// Every `pg-preflight ...` command the README shows is run here, so the README cannot drift from
// the CLI. The example config path is swapped for a config that points at a throwaway database.
const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const commands = [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split('\n'))
  .map((l) => l.trim())
  .filter((l) => l.startsWith('pg-preflight '));

describe('README commands', () => {
  it('shows commands to run', () => {
    expect(commands.length).toBeGreaterThanOrEqual(4);
  });

  it.each(commands)('%s', async (command) => {
    const server = sharedServers().find((s) => s.major === 18)!;
    const db = await createDatabase(server, 'readme', { setup: synapseSchemaSql(94) });
    const config = join(mkdtempSync(join(tmpdir(), 'pgpf-readme-')), 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: postgres\n    dbname: ${db}\n    host: ${server.host}\n    port: ${server.port}\n`);
    const argv = command.replace('/etc/matrix-synapse/homeserver.yaml', config).split(/\s+/).slice(1);
    const r = await runCli(argv);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);
});
