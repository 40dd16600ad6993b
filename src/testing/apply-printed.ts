// Applying printed remediation the way a user would: SQL pasted into psql (each statement on its
// own, in autocommit, as psql sends them), shell pasted into bash. Without psql, the same
// statements go one by one over node-postgres, each outside any transaction block.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findClientTools } from '../throwaway/binaries.js';
import type { CheckResult, Finding, Remediation, RemediationKind } from '../types.js';
import type { TestServer } from './run-check.js';

const clientTools = findClientTools();

/** psql, when installed (Debian's client tools, or on PATH). */
export function psqlPath(): string | undefined {
  const candidates = [clientTools ? join(clientTools.binDir, 'psql') : undefined, '/usr/bin/psql'];
  return candidates.find((p): p is string => p !== undefined && existsSync(p));
}

/**
 * SQL text split into statements as psql splits it: on semicolons outside quotes, identifiers,
 * dollar quotes and comments.
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const rest = text.slice(i);
    if (rest.startsWith('--')) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (ch === "'" || ch === '"' || dollar) {
      const quote = dollar ? dollar[0] : ch;
      const end = text.indexOf(quote, i + quote.length);
      const stop = end < 0 ? text.length : end + quote.length;
      current += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
      i++;
      continue;
    }
    current += ch;
    i++;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

export interface ApplyOptions {
  /** Which kinds to run (default sql; shell needs the client tools). */
  kinds?: RemediationKind[];
  /** Only steps this accepts (alternatives, "only if ..." steps). */
  filter?: (step: Remediation) => boolean;
  /** Role to run SQL as (default postgres). */
  user?: string;
  /** The database a SQL step runs in, when its title names another one (default: the case's). */
  databaseOf?: (step: Remediation) => string | undefined;
  /** Force node-postgres even when psql is installed. */
  withoutPsql?: boolean;
  /** Fail when psql writes anything to stderr (a WARNING or NOTICE a user would see), not only on an error. */
  silent?: boolean;
}

async function runSql(server: Pick<TestServer, 'host' | 'port'>, database: string, text: string, opts: ApplyOptions): Promise<void> {
  const psql = opts.withoutPsql ? undefined : psqlPath();
  const user = opts.user ?? 'postgres';
  if (psql) {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-psql-'));
    try {
      writeFileSync(join(dir, 'step.sql'), text);
      const r = spawnSync(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.host, '-p', String(server.port), '-U', user, '-d', database, '-f', join(dir, 'step.sql')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, PGCLIENTENCODING: 'UTF8' },
      });
      if (r.status !== 0) throw new Error(`psql failed (${r.status}) on:\n${text}\n${r.stderr}`);
      if (opts.silent && r.stderr !== '') throw new Error(`psql printed on stderr for:\n${text}\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const client = new pg.Client({ host: server.host, port: server.port, user, database });
  await client.connect();
  try {
    await client.query("SET client_encoding = 'UTF8'");
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(`${n.severity ?? 'NOTICE'}: ${n.message}`));
    for (const statement of splitStatements(text)) await client.query(statement);
    if (opts.silent && notices.length > 0) throw new Error(`the server sent notices for:\n${text}\n${notices.join('\n')}`);
  } finally {
    await client.end();
  }
}

/**
 * Runs a printed shell step exactly as a user would paste it: bash with -euo pipefail in a scratch
 * directory, Debian's PostgreSQL client tools first on PATH.
 */
export function runPasted(script: string, env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-shell-'));
  try {
    // stdin ignored: bash treats a socket on stdin as an rsh session and would source bash.bashrc.
    const r = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { PATH: `${clientTools?.binDir ?? ''}:${process.env.PATH}`, HOME: dir, ...env },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runShell(script: string): void {
  const r = runPasted(script);
  if (r.status !== 0) throw new Error(`shell step failed (${r.status}):\n${script}\n${r.stderr}`);
}

/** What carries printed steps: a check's result, or one of its findings. */
export type Printed = Pick<CheckResult, 'remediation'> | Pick<Finding, 'remediation'>;

/** The printed steps `applyPrinted` would run, in order. */
export function printedSteps(result: Printed, opts: ApplyOptions = {}): Remediation[] {
  const kinds = opts.kinds ?? ['sql'];
  return (result.remediation ?? []).filter((s) => kinds.includes(s.kind) && (opts.filter?.(s) ?? true));
}

/** Runs every printed step of the kinds asked for, in order, as a user pasting them would; returns their texts. */
export async function applyPrinted(server: Pick<TestServer, 'host' | 'port'>, database: string, result: Printed, opts: ApplyOptions = {}): Promise<string[]> {
  const steps = printedSteps(result, opts);
  for (const step of steps) {
    if (step.kind === 'sql') await runSql(server, opts.databaseOf?.(step) ?? database, step.text, opts);
    else if (step.kind === 'shell') runShell(step.text);
    else throw new Error(`a ${step.kind} step cannot be applied by pasting it: ${step.text}`);
  }
  return steps.map((s) => s.text);
}
