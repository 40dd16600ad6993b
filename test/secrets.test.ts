// A check never sees the password: ctx.target is a password-free view, and only the connection
// layer holds the secret. A plugin that dumps its whole context into a finding proves it in
// every format, without the CLI's redaction in between.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../src/preflight.js';
import { FORMATS, renderReport } from '../src/reporters/index.js';
import type { Report } from '../src/runner.js';
import { checkTarget } from '../src/target-view.js';
import type { ThrowawayServer } from '../src/throwaway/server.js';
import { startPasswordServer } from './helpers/password-server.js';

const PASSWORD = 'Zq7-dump-me-if-you-can';

const DUMPING_PLUGIN = `
import { inspect } from 'node:util';
const replacer = (_key, value) => (value instanceof Map ? Object.fromEntries(value) : typeof value === 'function' ? String(value) : value);
export const checks = [{
  id: 'dump-context',
  title: 'Dumps its whole context',
  description: 'A plugin that prints everything it is given.',
  docs: 'Test only.',
  async run(ctx) {
    return {
      status: 'warning',
      message: inspect(ctx, { depth: null, showHidden: true, getters: true }),
      object: JSON.stringify(ctx.target),
      details: JSON.parse(JSON.stringify({ ...ctx }, replacer)),
      remediation: [{ kind: 'text', text: JSON.stringify(ctx.target.synapse, replacer) }],
    };
  },
}];
`;

describe('a plugin that dumps its whole context shows no password', () => {
  let server: ThrowawayServer;
  let report: Report;
  let config: string;

  beforeAll(async () => {
    server = await startPasswordServer({ role: 'synapse_user', password: PASSWORD, database: 'synapse' });
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-secrets-'));
    config = join(dir, 'homeserver.yaml');
    writeFileSync(config, `database:\n  name: psycopg2\n  args:\n    user: synapse_user\n    password: "${PASSWORD}"\n    dbname: synapse\n    host: 127.0.0.1\n    port: ${server.port}\n`);
    writeFileSync(join(dir, 'dump.mjs'), DUMPING_PLUGIN);
    report = await preflight({ configPaths: [config], env: { HOME: '/nonexistent' }, plugins: [join(dir, 'dump.mjs')], only: ['dump-context'], cwd: dir });
  });
  afterAll(async () => server?.stop());

  it('it connected with the password and its finding holds the dumped context', () => {
    const t = report.targets[0]!;
    expect(t.error).toBeUndefined();
    const f = t.results[0]!.findings[0]!;
    expect(f.message).toContain('synapse_user');
    expect(f.message).toContain('hasPassword: true');
    expect(f.message).toContain('query:');
  });

  it.each(FORMATS)('%s: the password appears nowhere', async (format) => {
    const out = await renderReport(format, report, { failOn: 'warning' });
    expect(out).toContain('dump-context');
    expect(out).not.toContain(PASSWORD);
  });

  it('the view drops the password from the connection, its keywords and database.args, and says one is set', () => {
    const t = report.targets[0]!.target;
    expect(t.connection.password).toBe(PASSWORD);
    const view = checkTarget(t);
    expect(JSON.stringify(view)).not.toContain(PASSWORD);
    expect(view.connection.hasPassword).toBe(true);
    expect(view.synapse!.args.user).toBe('synapse_user');
    expect(view.synapse!.args).not.toHaveProperty('password');
    expect(t.synapse!.args.password).toBe(PASSWORD);
  });
});
