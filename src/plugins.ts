// Plugins: plain ES modules that export checks. A module that cannot be found or loaded, an export
// that is not a check, and a check id that is already taken are each one usage error (exit 2).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_CHECKS } from '../checks/index.js';
import { PreflightError, usageError } from './errors.js';
import { RULES_RESULT_ID } from './rules/apply.js';
import type { Check } from './types.js';
import { importModule } from './dynamic-import.js';

export interface PluginSpec {
  /** A path (`./checks.js`, `/abs/checks.js`, a package directory) or an installed package name. */
  module: string;
  /** Where a relative path starts, and where the search for a package name starts. */
  baseDir: string;
  /** Where the plugin was named, for messages: `--plugin`, `.pg-preflight.yaml:4`. */
  from?: string;
}

const PARAM_TYPES = ['number', 'integer', 'string', 'boolean', 'bytes', 'duration'];
const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

function looksLikePath(module: string): boolean {
  return module.startsWith('.') || isAbsolute(module) || /\.(?:[cm]?js|[cm]?ts)$/.test(module);
}

function pickCondition(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) return entry.map(pickCondition).find((x) => x !== undefined);
  if (entry && typeof entry === 'object') {
    for (const condition of ['import', 'node', 'default']) {
      const hit = pickCondition((entry as Record<string, unknown>)[condition]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** package.json `exports` (the ESM conditions), then `main`, then index.js. */
function packageEntry(pkgDir: string, subpath: string): string {
  let manifest: { exports?: unknown; main?: string } = {};
  try {
    manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as typeof manifest;
  } catch { /* no or broken package.json: fall back to index.js */ }
  const { exports } = manifest;
  if (exports !== undefined && exports !== null) {
    const map = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'));
    const target = pickCondition(map ? (exports as Record<string, unknown>)[subpath] : subpath === '.' ? exports : undefined);
    if (target) return resolve(pkgDir, target);
  }
  if (subpath !== '.') return resolve(pkgDir, subpath);
  return createRequire(join(pkgDir, 'package.json')).resolve(pkgDir);
}

/** Finds an installed package from baseDir upwards, as Node would from a file there. */
function findPackage(name: string, baseDir: string): string | undefined {
  const parts = name.split('/');
  const pkgName = name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  const rest = parts.slice(name.startsWith('@') ? 2 : 1).join('/');
  const subpath = rest ? `./${rest}` : '.';
  for (let dir = resolve(baseDir); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', pkgName);
    if (existsSync(join(pkgDir, 'package.json')) || existsSync(pkgDir)) return packageEntry(pkgDir, subpath);
    if (dirname(dir) === dir) return undefined;
  }
}

function describe(spec: PluginSpec): string {
  return `plugin "${spec.module}"${spec.from ? ` (${spec.from})` : ''}`;
}

function firstLine(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const message = (e?.message ?? String(err)).split('\n')[0]!.trim();
  return e?.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}

/** The file (or, for a package found only next to pg-preflight, the specifier) to import. */
function locate(spec: PluginSpec): { url: string; file?: string } {
  if (looksLikePath(spec.module)) {
    const abs = resolve(spec.baseDir, spec.module);
    if (!existsSync(abs)) throw usageError('plugin-not-found', `${describe(spec)} not found: there is no file ${abs}`);
    const file = statSync(abs).isDirectory() ? packageEntry(abs, '.') : abs;
    return { url: pathToFileURL(file).href, file };
  }
  const file = findPackage(spec.module, spec.baseDir);
  // Not installed where the user works: perhaps next to pg-preflight itself (a global install).
  return file ? { url: pathToFileURL(file).href, file } : { url: spec.module };
}

async function importPlugin(spec: PluginSpec): Promise<{ mod: Record<string, unknown>; key: string }> {
  let located: { url: string; file?: string };
  try {
    located = locate(spec);
  } catch (err) {
    if (err instanceof PreflightError) throw err;
    throw usageError('plugin-not-found', `${describe(spec)} not found: ${firstLine(err)}`);
  }
  const { url, file } = located;
  try {
    return { mod: (await importModule(url)) as Record<string, unknown>, key: file ?? url };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!file && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && firstLine(err).includes(`'${spec.module}'`)) {
      throw usageError(
        'plugin-not-found',
        `${describe(spec)} not found: no package of that name in node_modules from ${spec.baseDir} upwards, nor next to pg-preflight; npm install it, or give a path such as ./my-checks.js`,
      );
    }
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(extname(file ?? url))) {
      throw usageError('plugin-load', `${describe(spec)} is TypeScript, which Node ${process.version} does not load: compile it first (npx tsc) and give the .js file it produces`);
    }
    throw usageError('plugin-load', `${describe(spec)} could not be loaded: ${firstLine(err)}`);
  }
}

/** What is wrong with a value that should be a check, or undefined when it is one. */
export function checkShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `it is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a check object`;
  const c = value as Record<string, unknown>;
  const missing = ['id', 'title', 'description', 'docs'].filter((k) => typeof c[k] !== 'string' || (c[k] as string).trim() === '');
  if (typeof c.run !== 'function') missing.push('run(ctx)');
  if (missing.length > 0) return `it has no ${missing.join(', ')} (a check needs id, title, description, docs and run(ctx); defineCheck() from "pg-preflight" types it)`;
  if (!ID.test(c.id as string)) return `its id "${String(c.id)}" is not kebab-case (lowercase letters, digits and single dashes)`;
  if (c.tags !== undefined && !(Array.isArray(c.tags) && c.tags.every((t) => typeof t === 'string'))) return 'its tags is not a list of strings';
  if (c.params !== undefined) {
    if (typeof c.params !== 'object' || c.params === null || Array.isArray(c.params)) return 'its params is not an object of { type, default, description }';
    for (const [name, p] of Object.entries(c.params as Record<string, unknown>)) {
      const spec = p as Record<string, unknown> | null;
      if (!spec || typeof spec !== 'object' || !PARAM_TYPES.includes(spec.type as string) || typeof spec.description !== 'string' || !('default' in spec)) {
        return `its param "${name}" needs type (${PARAM_TYPES.join(', ')}), default and description`;
      }
    }
  }
  return undefined;
}

/** A module's checks: `checks`, else the default export (one check or an array). */
function exportedChecks(mod: Record<string, unknown>, spec: PluginSpec): Check[] {
  const dflt = mod.default as Record<string, unknown> | undefined;
  // A CommonJS module arrives as { default: module.exports }.
  const exported = mod.checks ?? (dflt && typeof dflt === 'object' && !Array.isArray(dflt) && 'checks' in dflt ? dflt.checks : dflt);
  if (exported === undefined) {
    throw usageError('plugin-export', `${describe(spec)} exports no checks: export a check or an array of checks as the default export, or as "checks"`);
  }
  const list = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0) throw usageError('plugin-export', `${describe(spec)} exports an empty list of checks`);
  list.forEach((value, i) => {
    const problem = checkShapeProblem(value);
    if (problem) throw usageError('plugin-export', `${describe(spec)}: ${list.length > 1 ? `export #${i + 1}` : 'its export'} is not a check: ${problem}`);
  });
  return list as Check[];
}

/**
 * Loads plugin modules in order and returns their checks. The same file named twice (--plugin and
 * the rules file) loads once. `builtIn` is what plugin ids may not collide with.
 */
export async function loadPlugins(specs: readonly PluginSpec[], builtIn: readonly Check[] = BUILTIN_CHECKS): Promise<Check[]> {
  const owner = new Map<string, string>(builtIn.map((c) => [c.id, 'built-in']));
  owner.set(RULES_RESULT_ID, 'reserved');
  const loaded = new Set<string>();
  const checks: Check[] = [];
  for (const spec of specs) {
    const { mod, key } = await importPlugin(spec);
    if (loaded.has(key)) continue;
    loaded.add(key);
    for (const check of exportedChecks(mod, spec)) {
      const taken = owner.get(check.id);
      if (taken) {
        const by = taken === 'built-in' ? 'a built-in check' : taken === 'reserved' ? 'reserved for rules-file notices' : `also defined by ${taken}`;
        throw usageError('plugin-collision', `${describe(spec)} defines check "${check.id}", but that id is ${by}: give the plugin's check another id`);
      }
      owner.set(check.id, describe(spec));
      checks.push(check);
    }
  }
  return checks;
}
