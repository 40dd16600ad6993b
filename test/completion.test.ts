// `pg-preflight completion`: the script is loaded into a real bash (and zsh where installed) and
// asked for completions the way the shell asks when Tab is pressed. What it should offer is read
// from the CLI itself (--help, list --format json), never from a list kept here.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from './helpers/built-cli.js';
import { runCli } from './helpers/cli.js';

const ZSH = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' }).stdout.trim() || undefined;

let cli: string;
let checkIds: string[];
let commands: string[];

/** Flags a command's --help lists (`-c, --config`, `--dsn`). */
async function helpFlags(command: string): Promise<string[]> {
  const r = await runCli([command, '--help']);
  expect(r.code).toBe(0);
  return [...r.stdout.matchAll(/^ {2}(?:(-\w), )? *(--[\w-]+)/gm)].flatMap((m) => (m[1] ? [m[1], m[2]!] : [m[2]!]));
}

function shell(program: string, args: string[], script: string, cwd?: string): string {
  const r = spawnSync(program, [...args, '-c', script], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'pgpf-home-')), CLI: cli },
  });
  if (r.status !== 0) throw new Error(`${program} exited with ${r.status}: ${r.stderr}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/** What bash offers for the last word of `words`, as it would after Tab. */
function bashComplete(words: string[], cwd?: string): string[] {
  const script = [
    'source <(node "$CLI" completion bash)',
    `COMP_WORDS=(${words.map(q).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    'COMP_LINE="${COMP_WORDS[*]}"',
    '_pg_preflight_completion',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return shell('bash', ['--norc', '--noprofile'], script, cwd).split('\n').filter(Boolean);
}

beforeAll(async () => {
  cli = builtCli();
  checkIds = (JSON.parse((await runCli(['list', '--format', 'json'])).stdout) as { id: string }[]).map((c) => c.id);
  const help = (await runCli(['--help'])).stdout;
  commands = [...help.matchAll(/^ {2}pg-preflight (\w+)/gm)].map((m) => m[1]!);
}, 120_000);

describe('pg-preflight completion bash', () => {
  it('registers a completion function for pg-preflight', () => {
    expect(shell('bash', ['--norc', '--noprofile'], 'source <(node "$CLI" completion bash); complete -p pg-preflight')).toBe('complete -F _pg_preflight_completion pg-preflight\n');
  });

  it('the first word: every command --help lists', () => {
    expect(commands).toContain('completion');
    expect(commands.length).toBeGreaterThanOrEqual(6);
    expect(bashComplete(['pg-preflight', ''])).toEqual(commands);
    expect(bashComplete(['pg-preflight', 'ex'])).toEqual(['explain']);
  });

  it('flags of the default command without one named: --on gives --only', () => {
    expect(bashComplete(['pg-preflight', '--on'])).toEqual(['--only']);
  });

  it('every command offers exactly the flags its --help lists, and --no-NAME only for a flag that is on by default', async () => {
    for (const command of commands) {
      const help = await helpFlags(command);
      const offered = bashComplete(['pg-preflight', command, '-']);
      expect(offered.filter((f) => !f.startsWith('--no-')).sort(), command).toEqual([...new Set(help)].sort());
      for (const negated of offered.filter((f) => f.startsWith('--no-'))) expect(help, command).toContain(negated.replace(/^--no-/, '--'));
    }
    expect(bashComplete(['pg-preflight', 'check', '--no-c'])).toEqual(['--no-color']);
  });

  it('check ids for --only, --skip and explain, as "list" gives them; after a comma, the next id', () => {
    expect(checkIds.length).toBeGreaterThan(10);
    expect(bashComplete(['pg-preflight', '--only', ''])).toEqual(checkIds);
    expect(bashComplete(['pg-preflight', 'check', '--skip', ''])).toEqual(checkIds);
    expect(bashComplete(['pg-preflight', 'explain', ''])).toEqual(checkIds);
    expect(bashComplete(['pg-preflight', 'explain', 'seq'])).toEqual(checkIds.filter((id) => id.startsWith('seq')));
    const after = checkIds.filter((id) => id.startsWith('database-'));
    expect(after.length).toBeGreaterThan(1);
    expect(bashComplete(['pg-preflight', '--only', 'sequence-drift,database-'])).toEqual(after.map((id) => `sequence-drift,${id}`));
    // A check id is a value, not the command: explain's id is completed once, then nothing.
    expect(bashComplete(['pg-preflight', 'explain', 'sequence-drift', ''])).toEqual([]);
  });

  it('choices of --format (html among them), also after "=", and of completion itself', () => {
    const formats = bashComplete(['pg-preflight', '--format', '']);
    expect(formats).toContain('html');
    expect(formats).toContain('sarif');
    expect(bashComplete(['pg-preflight', '-f', 'j'])).toEqual(formats.filter((f) => f.startsWith('j')));
    expect(formats.filter((f) => f.startsWith('j'))).toEqual(['json', 'junit']);
    // bash splits --format=js at "=" (COMP_WORDBREAKS).
    expect(bashComplete(['pg-preflight', '--format', '=', 'jso'])).toEqual(['json']);
    expect(bashComplete(['pg-preflight', 'list', '--format', ''])).toEqual(['text', 'json']);
    expect(bashComplete(['pg-preflight', 'check', '--fail-on', 'w'])).toEqual(['warning']);
    expect(bashComplete(['pg-preflight', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('file names for --config, nothing for a number, and an option value is not taken for the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgpf-complete-'));
    writeFileSync(join(dir, 'homeserver.yaml'), '');
    mkdirSync(join(dir, 'homeserver.d'));
    expect(bashComplete(['pg-preflight', '--config', 'home'], dir).sort()).toEqual(['homeserver.d', 'homeserver.yaml']);
    expect(bashComplete(['pg-preflight', '--wait', ''], dir)).toEqual([]);
    // "list" here is --rules' value: the command is still check, whose flags come next.
    expect(bashComplete(['pg-preflight', '--rules', 'list', '--thor'])).toEqual(['--thorough']);
  });

  it('an unknown shell is a usage error, exit 2', async () => {
    const r = await runCli(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Choices: "bash", "zsh"');
  });
});

describe('pg-preflight completion zsh', () => {
  const zsh = (body: string) =>
    shell(ZSH!, ['-f'], ['autoload -Uz compinit && compinit -u -D', 'eval "$(node "$CLI" completion zsh)"', body].join('\n'));

  it.skipIf(!ZSH)(`registers _pg_preflight with compdef${ZSH ? '' : ' (skipped: zsh not installed)'}`, () => {
    expect(zsh('print -r -- "${_comps[pg-preflight]}"')).toBe('_pg_preflight\n');
  });

  it.skipIf(!ZSH)(`offers the same words as bash, through compadd${ZSH ? '' : ' (skipped: zsh not installed)'}`, () => {
    // compadd and _files are zsh's; stand-ins print what the completion function hands them.
    const ask = (words: string[]) =>
      zsh(`compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }\n_files() { print -r -- FILES; }\nwords=(${words.map(q).join(' ')}); CURRENT=${words.length}; _pg_preflight`)
        .split('\n')
        .filter(Boolean);
    for (const words of [['pg-preflight', ''], ['pg-preflight', '--on'], ['pg-preflight', 'explain', ''], ['pg-preflight', '--only', 'sequence-drift,database-'], ['pg-preflight', 'fix', '-']]) {
      expect(ask(words), words.join(' ')).toEqual(bashComplete(words));
    }
    // zsh keeps --format=js one word: the candidate is the whole word.
    expect(ask(['pg-preflight', '--format=jso'])).toEqual(['--format=json']);
    expect(ask(['pg-preflight', '--config', ''])).toEqual(['FILES']);
  });
});
