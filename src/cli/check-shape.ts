// Whether a command line can be a check, before anything parses it: no command word but `check`,
// and no --help. src/bin.ts asks before it loads the login ahead (src/cli/early-login.ts, which
// brings node-postgres), and the login ahead asks again first. It imports nothing.
export function mayBeCheck(argv: readonly string[]): boolean {
  const first = argv[0];
  return (first === undefined || first === 'check' || first.startsWith('-')) && !argv.some((a) => a === '--help' || a === '-h');
}
