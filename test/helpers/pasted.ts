// Applying printed remediation the way a user would: a shell command that prompts for a password
// (typed on stdin), a pg_hba.conf line inserted where the text says, a YAML snippet merged into
// homeserver.yaml.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { clientTools } from './shell.js';

/**
 * Runs a printed shell remediation and types `answers` at its prompts. setsid detaches it from any
 * terminal, so createuser/psql read the password from stdin instead of /dev/tty.
 */
export function runPastedWithInput(script: string, answers: string[]): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgpf-shell-'));
  try {
    const r = spawnSync('setsid', ['bash', '--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
      cwd: dir,
      input: answers.map((a) => `${a}\n`).join(''),
      encoding: 'utf8',
      env: { PATH: `${clientTools?.binDir ?? ''}:${process.env.PATH}`, HOME: dir },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hasSetsid = existsSync('/usr/bin/setsid') || existsSync('/bin/setsid');

/** Inserts `lines` above the first line of `text` that matches `above`; fails loudly when none does. */
export function insertAbove(text: string, lines: string, above: RegExp): string {
  const all = text.split('\n');
  const at = all.findIndex((l) => above.test(l));
  if (at < 0) throw new Error(`no line matches ${above} in:\n${text}`);
  all.splice(at, 0, ...lines.split('\n'));
  return all.join('\n');
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = isMapping(v) && isMapping(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** Merges a printed YAML snippet into a config file (a copy, in a fresh directory); returns its path. */
export function applyYaml(configFile: string, snippet: string, edit?: (doc: Record<string, unknown>) => void): string {
  const doc = yaml.load(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  edit?.(doc);
  const merged = deepMerge(doc, yaml.load(snippet) as Record<string, unknown>);
  const out = join(mkdtempSync(join(tmpdir(), 'pgpf-applied-')), 'homeserver.yaml');
  writeFileSync(out, yaml.dump(merged));
  return out;
}

/** A homeserver.yaml in a fresh directory. */
export function writeConfig(text: string, name = 'homeserver.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgpf-hs-')), name);
  writeFileSync(file, text);
  return file;
}
