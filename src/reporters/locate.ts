// Where a finding "is", for reporters that annotate files (SARIF, GitHub): a line of the
// homeserver.yaml the target came from, or a stable logical place in the database.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { DatabaseTarget } from '../config/target.js';
import type { TargetReport } from '../runner.js';
import type { Finding } from '../types.js';

export interface ConfigLocation {
  /** The config file as given on the command line (absolute or relative to the working directory). */
  file: string;
  /** 1-based line of the key the finding names, else of the database section; absent when not found. */
  line?: number;
}

/**
 * A finding that comes from a config key names it in `details.configKey`, a dotted path in
 * homeserver.yaml such as `database.allow_unsafe_locale` or `database.args.cp_min`. A leading
 * `database` means the target's own section, whichever of `database:` or `databases.<label>:`
 * it was read from, so that a check need not know which form the user wrote.
 */
export function configKeyOf(f: Finding | undefined): string | undefined {
  const key = f?.details?.configKey;
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

const KEY_LINE = /^( *)(?:"([^"]*)"|'([^']*)'|([^\s#'"-][^:#]*?|-[^\s:#][^:#]*?))\s*:(?:\s|$)/;

/**
 * The 1-based line of the deepest key of `path` found in block-style YAML, by indentation alone:
 * homeserver.yaml sections are plain block mappings. A key inside a flow mapping or an alias is
 * not seen; the line of the closest enclosing key is returned instead.
 */
export function keyLine(lines: readonly string[], path: readonly string[]): number | undefined {
  let depth = 0;
  let found: number | undefined;
  let parentIndent = 0;
  let childIndent: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = KEY_LINE.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    const key = m[2] ?? m[3] ?? m[4]!;
    if (depth === 0) {
      if (indent === 0 && key === path[0]) {
        found = i + 1;
        depth = 1;
        if (depth === path.length) break;
      }
      continue;
    }
    if (indent <= parentIndent) break;
    childIndent ??= indent;
    if (indent !== childIndent || key !== path[depth]) continue;
    found = i + 1;
    depth++;
    parentIndent = indent;
    childIndent = undefined;
    if (depth === path.length) break;
  }
  return found;
}

/** Finds config lines for findings; reads each config file once per report. */
export class ConfigLocator {
  private readonly cache = new Map<string, string[] | null>();
  // Thousands of findings of one target share a handful of keys: look each up once.
  private readonly located = new WeakMap<DatabaseTarget, Map<string, ConfigLocation | undefined>>();

  private lines(file: string): string[] | null {
    let lines = this.cache.get(file);
    if (lines === undefined) {
      try {
        lines = readFileSync(file, 'utf8').split(/\r?\n/);
      } catch {
        // The file was read moments ago to connect; if it is gone now, name it without a line.
        lines = null;
      }
      this.cache.set(file, lines);
    }
    return lines;
  }

  /** The config location of a finding, or undefined for a target that did not come from a config file. */
  locate(target: DatabaseTarget, finding?: Finding): ConfigLocation | undefined {
    let byKey = this.located.get(target);
    if (!byKey) this.located.set(target, (byKey = new Map()));
    const configKey = configKeyOf(finding);
    const memo = byKey.get(configKey ?? '');
    if (memo !== undefined || byKey.has(configKey ?? '')) return memo;
    const found = this.find(target, configKey);
    byKey.set(configKey ?? '', found);
    return found;
  }

  private find(target: DatabaseTarget, configKey: string | undefined): ConfigLocation | undefined {
    const files = target.synapse?.files ?? [];
    if (files.length === 0) return undefined;
    const sections = target.label === 'master' ? [['database'], ['databases', 'master']] : [['databases', target.label]];
    const key = configKey?.split('.');
    const paths = !key ? sections : key[0] === 'database' ? sections.map((s) => [...s, ...key.slice(1)]) : [key];
    for (const path of paths) {
      // Later files replace whole top-level sections (Synapse's merge), so the last one that has it wins.
      for (let i = files.length - 1; i >= 0; i--) {
        const lines = this.lines(files[i]!);
        const line = lines ? keyLine(lines, path) : undefined;
        if (line !== undefined) return { file: files[i]!, line };
      }
    }
    return { file: files[files.length - 1]! };
  }
}

const displayed = new Map<string, { path: string; relative: boolean }>();

/** A path as code scanning wants it: relative to the repository root when inside it, else absolute. */
export function displayPath(file: string, baseDir: string): { path: string; relative: boolean } {
  const key = `${baseDir}\0${file}`;
  let shown = displayed.get(key);
  if (!shown) {
    shown = computeDisplayPath(file, baseDir);
    if (displayed.size > 1000) displayed.clear();
    displayed.set(key, shown);
  }
  return shown;
}

function computeDisplayPath(file: string, baseDir: string): { path: string; relative: boolean } {
  const abs = resolve(baseDir, file);
  const rel = relative(resolve(baseDir), abs);
  if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return { path: rel.split(sep).join('/'), relative: true };
  return { path: abs, relative: false };
}

/** `database` (the target's name when it has one), then `schema` and `name` when the finding names a `schema.name` object. */
export function logicalPath(t: TargetReport, f: Finding): string[] {
  const database = t.facts?.database ?? t.target.connection.database;
  // Several servers may each have a database of that name: in a run of many, the target's name leads.
  const head = t.target.name ?? database;
  const object = f.object;
  if (!object || object === database) return [head];
  const dot = object.indexOf('.');
  return dot > 0 ? [head, object.slice(0, dot), object.slice(dot + 1)] : [head, object];
}
