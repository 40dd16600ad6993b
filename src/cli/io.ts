/** Where the CLI writes, so that tests can run it in-process and capture everything. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

export const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  isTTY: Boolean(process.stdout.isTTY),
};

export function useColor(args: { color?: boolean }, io: Io): boolean {
  return args.color !== false && io.isTTY && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}
