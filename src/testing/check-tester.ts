// CheckTester: a check's cases as data, in the spirit of ESLint's RuleTester. Each case builds a
// state in a fresh database on every server of the matrix, runs the check, and compares codes,
// objects and statuses. An invalid case then applies every printed SQL (and, when asked, shell)
// step the way a user would and expects the check to pass: a printed fix that does not fix is
// a failing test, not a review comment.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../quote.js';
import type { Check, CheckResult, Status } from '../types.js';
import { applyPrinted, type ApplyOptions } from './apply-printed.js';
import { runCheck, type CheckRun, type RunCheckOptions, type TestServer } from './run-check.js';

/** A fresh database a case gets, with a helper that runs SQL in it as postgres. */
export interface CaseDatabase {
  server: TestServer;
  name: string;
  sql(text: string): Promise<void>;
}

export interface CheckCase extends Omit<RunCheckOptions, 'configPaths'> {
  name: string;
  /** The state: SQL run in the case's database (a fixture's text, or built per server). */
  state?: string | ((db: CaseDatabase) => Promise<void> | void);
  /** CREATE DATABASE options after `ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` are replaced by these. */
  createDatabase?: string;
  /** homeserver.yaml files, written per case (they name the database). */
  configs?: (db: CaseDatabase) => string[];
  /** Servers of the matrix the case applies to (default: all). */
  servers?: (server: TestServer) => boolean;
  /** More assertions on the result. */
  check?: (run: CheckRun, db: CaseDatabase) => Promise<void> | void;
}

export interface ExpectedFinding {
  code: string;
  object?: string;
  status?: Status;
}

export interface ValidCase extends CheckCase {
  /** The codes expected (default: whatever they are, as long as none is a problem). */
  codes?: string[];
}

export interface InvalidCase extends CheckCase {
  /** The problem findings, in order (ok and skipped findings are not listed). */
  findings: ExpectedFinding[];
  /** How the printed fix is applied; `false` for a finding with nothing to paste. Default: every sql step. */
  apply?: ApplyOptions | false;
  /** Codes expected once the fix is applied (default: no problem left). */
  afterFix?: string[];
}

export interface CheckTesterOptions {
  /** The servers of the matrix, known when the test file is collected. */
  servers: () => TestServer[];
}

function isProblem(status: Status): boolean {
  return status !== 'ok' && status !== 'skipped';
}

function problemsOf(result: CheckResult): ExpectedFinding[] {
  return result.findings.filter((f) => isProblem(f.status)).map((f) => ({ code: f.code, ...(f.object !== undefined ? { object: f.object } : {}), status: f.status }));
}

let counter = 0;

async function createCaseDatabase(server: TestServer, check: Check, c: CheckCase): Promise<CaseDatabase> {
  counter++;
  const name = `${check.id.replace(/-/g, '_')}_${process.pid}_${counter}`.slice(0, 63);
  const admin = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ${c.createDatabase ?? "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"}`);
  } finally {
    await admin.end();
  }
  const sql = async (text: string) => {
    const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database: name });
    await client.connect();
    try {
      await client.query("SET client_encoding = 'UTF8'");
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  return { server, name, sql };
}

export class CheckTester {
  constructor(private readonly opts: CheckTesterOptions) {}

  /** One describe per server, one it per case. */
  run(check: Check, cases: { valid?: ValidCase[]; invalid?: InvalidCase[] }): void {
    const servers = this.opts.servers();
    describe.each(servers)(`${check.id} on PostgreSQL $major`, (server) => {
      const prepare = async (c: CheckCase) => {
        const db = await createCaseDatabase(server, check, c);
        if (typeof c.state === 'string') await db.sql(c.state);
        else if (c.state) await c.state(db);
        return db;
      };
      const runIn = (db: CaseDatabase, c: CheckCase) => runCheck(check, server, db.name, { ...c, configPaths: c.configs?.(db) });

      for (const c of cases.valid ?? []) {
        if (c.servers && !c.servers(server)) continue;
        it(`valid: ${c.name}`, async () => {
          const db = await prepare(c);
          const run = await runIn(db, c);
          expect(problemsOf(run.result), `${check.id} should find no problem`).toEqual([]);
          if (c.codes) expect(run.result.findings.map((f) => f.code)).toEqual(c.codes);
          await c.check?.(run, db);
        });
      }

      for (const c of cases.invalid ?? []) {
        if (c.servers && !c.servers(server)) continue;
        it(`invalid: ${c.name}${c.apply === false ? '' : ', fixed by the printed steps'}`, async () => {
          const db = await prepare(c);
          const run = await runIn(db, c);
          const found = problemsOf(run.result);
          expect(found.map((f) => ({ code: f.code, ...(c.findings.some((e) => e.object !== undefined) ? { object: f.object } : {}), ...(c.findings.some((e) => e.status) ? { status: f.status } : {}) }))).toEqual(
            c.findings.map((e) => ({ code: e.code, ...(e.object !== undefined ? { object: e.object } : {}), ...(e.status ? { status: e.status } : {}) })),
          );
          await c.check?.(run, db);
          if (c.apply === false) return;
          const applied = await applyPrinted(server, db.name, run.result, c.apply ?? {});
          expect(applied.length, 'an invalid case prints at least one step to apply').toBeGreaterThan(0);
          const after = await runIn(db, c);
          if (c.afterFix) expect(after.result.findings.map((f) => f.code)).toEqual(c.afterFix);
          else expect(problemsOf(after.result), `${check.id} after the printed fix`).toEqual([]);
        });
      }
    });
  }
}
