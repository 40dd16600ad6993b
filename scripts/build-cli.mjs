// Bundles the CLI for start-up time: Node resolving and reading yargs' and pg's many files was
// most of what a bare `--version` used to take, and compiling the bundle most of the rest
// (bench/startup.ts, bench/full-check.ts). Three files:
// - dist/cli.cjs, the bin (src/npm-bin.ts): answers --version, loads the bundle for the rest;
// - dist/cli-bundle.cjs, everything else in one CommonJS script (src/bin.ts and what it imports);
// - dist/cli-bundle.cjs.cache, V8's code cache of that script, made by a training run below.
// CommonJS because Node 20 caches compiled code only for scripts (vm.Script), not for ES modules.
//
// The bundler is esbuild: one devDependency whose npm package carries its prebuilt binary (no
// download, no native build), and it bundles TypeScript as it is. Each module reached through
// import() (the demo, fix, every reporter but the one asked for, sql.js's loader, the throwaway
// server) becomes a function that runs on first use.
//
// `npm run build` still runs tsc for the library (dist/src/index.js and its .d.ts), first: the
// training run uses dist/src/code-cache.js. scripts/build-exe.mjs reuses bundleOptions() for the
// single executable, which needs CommonJS in one file too.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The package's bin (src/npm-bin.ts). */
const CLI_BIN = join(ROOT, 'dist', 'cli.cjs');
/** Where the ES module chunks of earlier builds were; removed so that no stale copy ships. */
const CLI_CHUNKS = join(ROOT, 'dist', 'cli-chunks');
/** The CLI itself, one CommonJS script that the bin runs from its code cache (src/code-cache.ts). */
const CLI_SCRIPT = join(ROOT, 'dist', 'cli-bundle.cjs');
/** Which source files went into which output file; test/package.test.ts reads it. */
const CLI_METAFILE = join(ROOT, 'dist', 'cli.meta.json');
/** src/code-cache.ts as tsc built it, which the training run and its parent both use. */
const CODE_CACHE_MODULE = pathToFileURL(join(ROOT, 'dist', 'src', 'code-cache.js')).href;

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

/**
 * yargs's platform shim imports Node's assert for two internal sanity checks, and loading assert
 * loads Node's colour support, which opens process.stderr to ask about its terminal: 4 ms of
 * every start (--cpu-prof). yargs gets the two functions, with the same effect, from here.
 */
const yargsWithoutAssert = {
  name: 'yargs-without-assert',
  setup(build) {
    build.onResolve({ filter: /^assert$/ }, (args) => (/[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'yargs-assert' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'yargs-assert' }, () => ({
      loader: 'js',
      contents: [
        `function fail(actual, expected, message, operator) {`,
        `  throw Object.assign(new Error(message ?? \`Expected values to be \${operator} \${String(expected)}, got \${String(actual)}\`), { code: 'ERR_ASSERTION', actual, expected, operator });`,
        `}`,
        `export function strictEqual(actual, expected, message) { if (!Object.is(actual, expected)) fail(actual, expected, message, 'strictly equal'); }`,
        `export function notStrictEqual(actual, expected, message) { if (Object.is(actual, expected)) fail(actual, expected, message, 'not strictly equal'); }`,
      ].join('\n'),
    }));
  },
};

/**
 * An esbuild plugin that bundles one node-postgres file with some lines replaced. Each line is
 * looked for exactly, so that a node-postgres release that changes the file fails the build
 * instead of bundling something half-edited.
 */
function editedPgFile(name, file, edits) {
  return {
    name,
    setup(build) {
      build.onLoad({ filter: file }, (args) => {
        let text = readFileSync(args.path, 'utf8');
        for (const [from, to] of edits) {
          if (!text.includes(from)) throw new Error(`${args.path}: no "${from}"; check the ${name} plugin against this node-postgres`);
          text = text.split(from).join(to);
        }
        return { contents: text, loader: 'js' };
      });
    },
  };
}

/**
 * node-postgres's crypto helpers load Node's crypto and take Web Crypto when they load (2.7 ms of
 * every start, and crypto's own modules more), though only a password login (MD5 or SCRAM) uses
 * them. The bundle gets the file with that lookup made on first use.
 */
const lazyPgWebCrypto = editedPgFile('lazy-pg-webcrypto', /[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/, [
  ["const nodeCrypto = require('crypto')", "let loadedCrypto\nconst nodeCrypto = () => (loadedCrypto ??= require('crypto'))"],
  ['const webCrypto = nodeCrypto.webcrypto || globalThis.crypto', 'let loadedWebCrypto\nconst webCrypto = () => (loadedWebCrypto ??= nodeCrypto().webcrypto || globalThis.crypto)'],
  ["nodeCrypto.createHash('md5')", "nodeCrypto().createHash('md5')"],
  ['const subtleCrypto = webCrypto.subtle', ''],
  ['webCrypto.getRandomValues(', 'webCrypto().getRandomValues('],
  ['subtleCrypto.', 'webCrypto().subtle.'],
]);

/**
 * node-postgres's connection parameters load Node's dns when they load (0.5 ms of every start),
 * though only pg-native's connection string, which we never build, looks a host up with it.
 */
const lazyPgDns = editedPgFile('lazy-pg-dns', /[\\/]pg[\\/]lib[\\/]connection-parameters\.js$/, [
  ["const dns = require('dns')", ''],
  ['dns.lookup(this.host,', "require('dns').lookup(this.host,"],
]);

/** What import.meta.url stands for in a CommonJS bundle (esbuild's define names it). */
const IMPORT_META_URL = "var __pgpfImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

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
    plugins: [asciiStringWidth, nodeOnlyPgStream, yargsWithoutAssert, lazyPgWebCrypto, lazyPgDns],
    logLevel: 'warning',
  };
}

export async function buildCliBundle() {
  rmSync(CLI_CHUNKS, { recursive: true, force: true });
  rmSync(join(ROOT, 'dist', 'cli.mjs'), { force: true }); // the ES module bin of earlier builds
  // The bin: --version, and the loader of the script below (src/npm-bin.ts).
  await build({
    ...bundleOptions(),
    entryPoints: [join(ROOT, 'src', 'npm-bin.ts')],
    // CommonJS: Node starts an ES module entry 7 ms slower (its ES module loader loads first).
    format: 'cjs',
    outfile: CLI_BIN,
    define: { ...bundleOptions().define, 'import.meta.url': '__pgpfImportMetaUrl' },
    banner: { js: IMPORT_META_URL },
  });
  // Everything else, in one CommonJS script, so that V8 can cache its compiled code (Node 20 caches
  // no ES module). Commands, reporters and the demo still run only when used: esbuild turns each
  // import() into a module whose body runs on first use, and V8 compiles no function before its
  // first call. They are also a small part of the bundle (the demo, fix, HTML, SARIF, JUnit and
  // completion together about 70 of 1,100 kB); sql.js stays in node_modules beside its .wasm file.
  const result = await build({
    ...bundleOptions(),
    format: 'cjs',
    outfile: CLI_SCRIPT,
    external: [...bundleOptions().external, 'sql.js'],
    // The script runs inside src/code-cache.ts's CommonJS wrapper, which gives it __filename.
    define: { ...bundleOptions().define, 'import.meta.url': '__pgpfImportMetaUrl' },
    banner: { js: IMPORT_META_URL },
    // Smaller text and cache to read at every start; names stay, for the rare stack trace.
    minifyWhitespace: true,
    minifySyntax: true,
    // esbuild's default, stated: src/code-cache.ts relies on it.
    charset: 'ascii',
    metafile: true,
  });
  // A hashbang line is not valid inside the function wrapper.
  const script = readFileSync(CLI_SCRIPT, 'utf8').replace(/^#!.*\n/, '');
  // src/code-cache.ts reads it as latin1, which is the same text only for ASCII.
  if (/[^\x00-\x7f]/.test(script)) throw new Error(`${CLI_SCRIPT} is not ASCII: src/code-cache.ts would misread it`);
  writeFileSync(CLI_SCRIPT, script);
  writeFileSync(CLI_METAFILE, JSON.stringify(result.metafile));
  const { codeCachePath } = await import(CODE_CACHE_MODULE);
  trainCodeCache(codeCachePath(CLI_SCRIPT));
  return result;
}

/**
 * The code cache holds what V8 compiled while the script ran, so it is made by running the CLI:
 * a check in text and in JSON. Where this checkout has the embedded PostgreSQL (its
 * devDependencies), against a throwaway server holding the Synapse-like fixture, so that every
 * check's own code runs and is cached too (5-6 ms of each start, measured); elsewhere against a
 * socket that is not there, which still covers the parser, the configuration, the connection
 * and the reporters. In a child process, so that the build's own code is not in the cache.
 */
function trainCodeCache(cache) {
  const train = (mode) => {
    rmSync(cache, { force: true });
    return spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--train-code-cache', mode], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', NO_COLOR: '1', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) },
      timeout: 120_000,
    });
  };
  // A server that starts but then fails or hangs costs the better cache, never the build.
  let r = train('server');
  if (r.status !== 0 || !existsSync(cache)) r = train('no-server');
  if (r.status !== 0 || !existsSync(cache)) throw new Error(`making the code cache failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

/** A throwaway server with the Synapse-like fixture and its DSN, or undefined where none can start. */
async function trainingDatabase() {
  try {
    const { startThrowawayServer } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'throwaway', 'server.js')).href);
    const { createSynapseDatabase } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'throwaway', 'synapse-database.js')).href);
    const server = await startThrowawayServer({ server: 'npm:18' });
    try {
      await (await createSynapseDatabase(server)).end();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return { server, dsn: `postgresql://postgres@${server.host}:${server.port}/synapse` };
  } catch {
    return undefined; // no embedded PostgreSQL here (an install without devDependencies)
  }
}

/** The training run itself (a child of trainCodeCache). */
async function runCodeCacheTraining(mode) {
  const { runBundle, codeCachePath } = await import(CODE_CACHE_MODULE);
  const database = mode === 'server' ? await trainingDatabase() : undefined;
  const dsn = database?.dsn ?? 'postgresql://training@/pg-preflight-training?host=/nonexistent/pg-preflight-training';
  const runs = [['check', '--dsn', dsn], ['check', '--dsn', dsn, '--format', 'json']];
  // Each run ends by flushing its output and exiting (src/bin.ts): the process ends with the last.
  const exit = process.exit.bind(process);
  let left = runs.length;
  // A server stopped the usual way: killed at exit, it would leave its shared memory in /dev/shm.
  process.exit = () => {
    if (--left === 0) void Promise.resolve(database?.server.stop()).finally(() => exit(0));
  };
  process.stdout.write = (_chunk, encoding, done) => {
    (typeof encoding === 'function' ? encoding : done)?.();
    return true;
  };
  process.stderr.write = process.stdout.write;
  let script;
  for (const argv of runs) {
    process.argv = [process.execPath, CLI_SCRIPT, ...argv];
    script = runBundle(CLI_SCRIPT).script;
  }
  process.on('exit', () => {
    writeFileSync(codeCachePath(CLI_SCRIPT), script.createCachedData());
    process.exitCode = 0;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--train-code-cache') await runCodeCacheTraining(process.argv[3]);
  else await buildCliBundle();
}
