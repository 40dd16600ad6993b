import { resolveTargets } from '../config/resolve.js';
import { parseSetFlags } from '../params.js';
import { exitCodeFor, parseFailOn } from '../preflight.js';
import { redact, secretsOf } from '../redact.js';
import { allChecks, parseIdList, selectChecks } from '../registry.js';
import { jsonReport } from '../reporters/json.js';
import { textReport } from '../reporters/text.js';
import { runChecks } from '../runner.js';
import { synapseProcesses } from '../connection-diagnosis/synapse-processes.js';
import { limitsFrom, type CheckArgs } from './common-options.js';
import { useColor, type Io } from './io.js';

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  const failOn = parseFailOn(args['fail-on']);
  const { targets } = resolveTargets({ dsn: args.dsn, configPaths: args.config, env: io.env });
  const secrets = secretsOf(targets, [io.env.PGPASSWORD]);
  const known = allChecks();
  const checks = selectChecks(known, parseIdList(args.only), parseIdList(args.skip));
  const report = await runChecks({
    targets,
    checks,
    limits: limitsFrom(args),
    options: {
      synapseVersion: args['synapse-version'],
      thorough: args.thorough,
      synapseProcesses: synapseProcesses({ configPaths: args.config ?? [], targets, workerConfigs: args['worker-config'] ?? [], workers: args.workers, env: io.env }),
    },
    params: parseSetFlags(args.set ?? [], known),
  });
  const out =
    args.format === 'json'
      ? JSON.stringify(jsonReport(report), null, 2) + '\n'
      : textReport(report, { color: useColor(args, io), quiet: args.quiet });
  if (out.trim()) io.stdout(redact(out, secrets));
  return exitCodeFor(report, failOn);
}
