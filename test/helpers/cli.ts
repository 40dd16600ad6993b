import { main } from '../../src/cli.js';
import { loginAhead } from '../../src/cli/early-login.js';

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
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (t: string) => { stdout += t; },
    stderr: (t: string) => { stderr += t; },
    env: { HOME: '/nonexistent', ...env },
    isTTY: false,
  };
  const ahead = loginAhead(argv, io.env);
  await ahead?.loggedIn();
  const code = await main(argv, io, ahead);
  return { code, stdout, stderr };
}
