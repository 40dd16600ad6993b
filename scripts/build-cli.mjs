// Bundles the CLI into one ES module, dist/cli.mjs, for start-up time: Node resolving and reading
// yargs' and pg's many files is most of what a bare `--version` used to take (bench/startup.ts).
//
// The bundler is esbuild: one devDependency whose npm package carries its prebuilt binary (no
// download, no native build), it bundles TypeScript as it is, so the bundle needs no tsc run first,
// and it splits dynamically imported modules into chunks that load only when used (the demo, fix,
// every reporter but the one asked for, sql.js's loader, the throwaway server).
//
// `npm run build` still runs tsc for the library (dist/src/index.js and its .d.ts); this script
// makes only the executable's bundle. scripts/build-exe.mjs reuses bundleOptions() for the single
// executable, which needs CommonJS in one file.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_BUNDLE = join(ROOT, 'dist', 'cli.mjs');
export const CLI_CHUNKS = join(ROOT, 'dist', 'cli-chunks');
/** Which source files went into which output file; test/package.test.ts reads it. */
export const CLI_METAFILE = join(ROOT, 'dist', 'cli.meta.json');

/** The fields src/package-json.ts would read from package.json, baked into the bundle as a string. */
function packageJsonDefine() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const { name, version, homepage, repository } = pkg;
  return JSON.stringify(JSON.stringify({ name, version, homepage, repository }));
}

/**
 * node-postgres's lib/stream.js asks at load whether it runs in a Cloudflare Worker by building a
 * `Response`, and the first touch of that global makes Node load its whole fetch implementation
 * (undici: about 11 ms of every start, measured with --cpu-prof). The bundle only runs on Node, so
 * it gets the Node half of that module.
 */
const nodeOnlyPgStream = {
  name: 'node-only-pg-stream',
  setup(build) {
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      loader: 'js',
      contents: [
        `module.exports = {`,
        `  getStream() { const net = require('net'); return new net.Socket(); },`,
        `  getSecureStream(options) { const tls = require('tls'); return tls.connect(options); },`,
        `};`,
      ].join('\n'),
    }));
  },
};

/**
 * yargs measures every help line with string-width, whose module creates an Intl.Segmenter when it
 * loads (ICU data: ~13 ms here) and runs a large emoji regex on each character: together about as
 * long as Node's own start-up. Every string `--help` measures is printable ASCII, whose width is its
 * length, so each import of string-width gets this wrapper, which loads the real module (lazily,
 * through esbuild's require of an ES module) only for any other string.
 */
const asciiStringWidth = {
  name: 'ascii-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: { real: true } });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'ascii-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'ascii-string-width' }, (args) => ({
      resolveDir: dirname(args.path),
      loader: 'js',
      contents: [
        `const PRINTABLE_ASCII = /^[\\x20-\\x7e]*$/;`,
        `let real;`,
        `export default function stringWidth(string, options) {`,
        `  if (typeof string === 'string' && PRINTABLE_ASCII.test(string)) return string.length;`,
        `  real ??= require(${JSON.stringify(args.path)}).default;`,
        `  return real(string, options);`,
        `}`,
      ].join('\n'),
    }));
  },
};

/** Options both bundles share. */
export function bundleOptions() {
  return {
    entryPoints: [join(ROOT, 'src', 'bin.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // pg's optional native binding, never installed by us; pg requires it only if asked to.
    external: ['pg-native'],
    define: { PG_PREFLIGHT_PACKAGE_JSON: packageJsonDefine() },
    legalComments: 'linked',
    plugins: [asciiStringWidth, nodeOnlyPgStream],
    logLevel: 'warning',
  };
}

export async function buildCliBundle() {
  rmSync(CLI_CHUNKS, { recursive: true, force: true });
  const result = await build({
    ...bundleOptions(),
    format: 'esm',
    splitting: true,
    outdir: join(ROOT, 'dist'),
    entryNames: 'cli',
    chunkNames: 'cli-chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // sql.js finds its .wasm file beside its own module, so it stays in node_modules.
    external: [...bundleOptions().external, 'sql.js'],
    // pg and the other CommonJS packages call require() for Node's modules, which an ES module lacks.
    banner: { js: "import { createRequire as __pgpfCreateRequire } from 'node:module'; const require = __pgpfCreateRequire(import.meta.url);" },
    metafile: true,
  });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(CLI_METAFILE, JSON.stringify(result.metafile));
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildCliBundle();
}
