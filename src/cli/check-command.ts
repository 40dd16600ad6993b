import { resolveTargets } from '../config/resolve.js';
import { readLocalHostMemory } from '../host-memory.js';
import { coerceParam, parseSetFlags } from '../params.js';
import { exitCodeFor, parseFailOn } from '../preflight.js';
import { secretsOf } from '../redact.js';
import { allChecks, parseIdList, selectChecks } from '../registry.js';
import { runChecks } from '../runner.js';
import { limitsFrom, type CheckArgs } from './common-options.js';
import { useColor, type Io } from './io.js';
import { planOutputs, writeReports } from './report-output.js';

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  const failOn = parseFailOn(args['fail-on']);
  const outputs = planOutputs(args);
  const { targets } = resolveTargets({ dsn: args.dsn, configPaths: args.config, env: io.env });
  const secrets = secretsOf(targets, [io.env.PGPASSWORD]);
  const known = allChecks();
  const checks = selectChecks(known, parseIdList(args.only), parseIdList(args.skip));
  const params = parseSetFlags(args.set ?? [], known);
  const hostMemoryCheck = known.find((c) => c.id === 'memory-settings');
  if (args['db-host-memory'] !== undefined && hostMemoryCheck?.params?.host_memory) {
    // --set memory-settings.host_memory, when also given, is the more specific and wins.
    const hostMemory = coerceParam('--db-host-memory', hostMemoryCheck.params.host_memory, args['db-host-memory']);
    params['memory-settings'] = { host_memory: hostMemory, ...params['memory-settings'] };
  }
  const report = await runChecks({
    targets,
    checks,
    limits: limitsFrom(args),
    options: { synapseVersion: args['synapse-version'], thorough: args.thorough, localHostMemory: readLocalHostMemory() },
    params,
  });
  writeReports(report, outputs, { io, secrets, checks, failOn, color: useColor(args, io), quiet: args.quiet });
  return exitCodeFor(report, failOn);
}
