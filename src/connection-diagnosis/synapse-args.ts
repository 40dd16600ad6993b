// Synapse's own view of its database connection: the libpq keywords under `args` of its database
// section (not the --dsn that pg-preflight may have used instead), and YAML snippets that put
// keys where Synapse reads them.
import type { CheckTarget } from '../target-view.js';
import { libpqArgs } from '../config/homeserver.js';
import { normalizeKeywords } from '../config/libpq.js';
import { isSocketHost } from './endpoint.js';

/** The keywords Synapse passes to libpq: its config's args when there is a config, else ours. */
export function synapseKeywords(target: CheckTarget): Record<string, string> {
  return target.synapse ? normalizeKeywords(libpqArgs(target.synapse.args)) : target.connection.keywords;
}

/** The address libpq dials for Synapse: hostaddr wins over host; neither means ours (env, default socket). */
export function synapseHost(target: CheckTarget): { host: string; fromConfig: boolean } {
  const k = synapseKeywords(target);
  const host = k.hostaddr || k.host;
  if (host) return { host, fromConfig: true };
  return { host: target.connection.host, fromConfig: false };
}

/**
 * The server a pool connects to, as one comparable string: `host:port` from libpq keywords,
 * with `fallback` (the resolved connection: environment, defaults) for what they leave out.
 */
export function serverKey(keywords: Record<string, string>, fallback: { host: string; port: number }): string {
  const host = keywords.hostaddr || keywords.host || fallback.host;
  const port = keywords.port ? Number(keywords.port) : fallback.port;
  return `${host}:${port}`;
}

/** The server this target's Synapse pool connects to. */
export function targetServerKey(target: CheckTarget): string {
  return serverKey(synapseKeywords(target), target.connection);
}

export function isSocket(host: string): boolean {
  return isSocketHost(host);
}

function yamlKey(key: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
}

/** The path of this target's section: `database:` (Synapse labels it "master") or `databases: <label>:`. */
export function sectionPath(target: CheckTarget | string): string[] {
  const label = typeof target === 'string' ? target : target.label;
  return label === 'master' ? ['database'] : ['databases', label];
}

export function sectionName(target: CheckTarget): string {
  return sectionPath(target).join('.');
}

export interface YamlEntry {
  key: string;
  value: string | number | boolean;
  comment?: string;
}

/** A snippet that places `entries` under `args` of a section (this target's, or a path), ready to merge. */
export function argsYaml(section: CheckTarget | string[], entries: YamlEntry[]): string {
  const path = [...(Array.isArray(section) ? section : sectionPath(section)), 'args'];
  const lines = path.map((p, i) => `${'  '.repeat(i)}${yamlKey(p)}:`);
  const pad = '  '.repeat(path.length);
  for (const e of entries) {
    if (e.comment) lines.push(`${pad}# ${e.comment}`);
    lines.push(`${pad}${yamlKey(e.key)}: ${typeof e.value === 'string' ? JSON.stringify(e.value) : e.value}`);
  }
  return lines.join('\n');
}
