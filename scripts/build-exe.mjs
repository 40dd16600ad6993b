// Builds dist/exe/pg-preflight-linux-x64: a single executable that needs no Node.js, made with
// Node's single executable applications (SEA): the CLI bundled into one CommonJS file (SEA runs
// only that), turned into a blob by `node --experimental-sea-config`, with sql.js's .wasm file as
// an asset, and injected with postject into a copy of the node binary that runs this script.
// Run: npm run build:exe (on linux-x64, with the Node.js the executable is to carry).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { bundleOptions, ROOT } from './build-cli.mjs';

export const EXE_DIR = join(ROOT, 'dist', 'exe');
export const EXE = join(EXE_DIR, `pg-preflight-${process.platform}-${process.arch}`);
/** The name src/sqlite/snapshot.ts asks node:sea for (SQL_WASM_ASSET there). */
const SQL_WASM_ASSET = 'sql-wasm.wasm';
// The fuse string Node's binary carries so that it looks for an injected blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export async function buildExe() {
  rmSync(EXE_DIR, { recursive: true, force: true });
  mkdirSync(EXE_DIR, { recursive: true });
  const main = join(EXE_DIR, 'pg-preflight.cjs');
  await build({
    ...bundleOptions(),
    format: 'cjs',
    outfile: main,
    // yargs derives its own paths from import.meta.url, which CommonJS lacks; any file URL will do,
    // since the bundle reads none of those files (its locale files fall back to English).
    define: { ...bundleOptions().define, 'import.meta.url': JSON.stringify('file:///pg-preflight-exe/bundle.cjs') },
  });
  const wasm = createRequire(join(ROOT, 'package.json')).resolve('sql.js/dist/sql-wasm.wasm');
  const blob = join(EXE_DIR, 'sea-prep.blob');
  const config = join(EXE_DIR, 'sea-config.json');
  writeFileSync(config, JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    // Compiled code in the blob: the executable skips compiling the bundle at every start.
    useCodeCache: true,
    assets: { [SQL_WASM_ASSET]: wasm },
  }, null, 2));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
  copyFileSync(process.execPath, EXE);
  chmodSync(EXE, 0o755);
  // The symbol tables are for debuggers: 12 of node's 99 MB here. Stripped before the blob goes in.
  if (spawnSync('strip', ['--version']).status === 0) execFileSync('strip', ['--strip-all', EXE]);
  // postject's ELF library warns that it "can't find string offset" for node's .note sections:
  // harmless, the executable runs (test/executable.test.ts).
  await inject(EXE, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  return EXE;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const exe = await buildExe();
  console.log(`${exe}: ${(statSync(exe).size / 1024 / 1024).toFixed(1)} MiB`);
}
