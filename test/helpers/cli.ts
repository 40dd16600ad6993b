import { main } from '../../src/cli.js';
import { loginAhead } from '../../src/cli/early-login.js';
import type { SessionAhead } from '../../src/session-ahead.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process with captured output and a controlled environment (no TTY), as the
 * executable does: a check's login started before the command line is parsed (src/bin.ts).
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const ahead = loginAhead(argv, testEnv(env));
  await ahead?.loggedIn();
  return runMain(argv, env, ahead);
}

/** `main` in-process as runCli runs it, given the sessions opened ahead, or none. */
export async function runMain(argv: string[], env: NodeJS.ProcessEnv = {}, ahead?: SessionAhead): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (t: string) => { stdout += t; },
    stderr: (t: string) => { stderr += t; },
    env: testEnv(env),
    isTTY: false,
  };
  const code = await main(argv, io, ahead);
  return { code, stdout, stderr };
}

function testEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { HOME: '/nonexistent', ...env };
}
