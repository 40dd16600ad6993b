// import() for the modules the CLI loads by name at run time: plugins, sql.js, the embedded
// PostgreSQL packages. Inside the bin's bundle, run from V8's code cache (src/code-cache.ts),
// Node 20 cannot import(): a script compiled from cached data loses its dynamic-import callback
// ("A dynamic import callback was not specified"). So the bin (src/npm-bin.ts) lends its own
// import() under this symbol; the library and the single executable use plain import(). (sql.js
// is imported by its literal name where no bin lends one, so that the single executable's
// bundler takes it in.)
const HOST_IMPORT = Symbol.for('pg-preflight.import');

type Importer = (specifier: string) => Promise<unknown>;

/** Called by the bin before it runs the bundle: the bundle's copy of this module finds it. */
export function lendImport(importer: Importer): void {
  (globalThis as { [HOST_IMPORT]?: Importer })[HOST_IMPORT] = importer;
}

/** The bin's import(), when the code runs in its bundle. */
export function hostImport(): Importer | undefined {
  return (globalThis as { [HOST_IMPORT]?: Importer })[HOST_IMPORT];
}

export function importModule(specifier: string): Promise<unknown> {
  return (hostImport() ?? ((s: string) => import(s)))(specifier);
}
