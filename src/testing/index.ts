// pg-preflight/testing: what plugin authors (and pg-preflight's own tests) use to test a check
// against real PostgreSQL. It imports vitest, so it is an entry point of its own: the CLI and the
// main entry never load it.
export { CheckTester, type CheckCase, type CaseDatabase, type CheckTesterOptions, type ExpectedFinding, type InvalidCase, type ValidCase } from './check-tester.js';
export { runCheck, runCheckAt, runCheckOn, declaredProblems, dsnOf, type CheckRun, type RunCheckOptions, type TestServer } from './run-check.js';
export { applyPrinted, printedSteps, psqlPath, runPasted, splitStatements, type ApplyOptions, type Printed } from './apply-printed.js';
