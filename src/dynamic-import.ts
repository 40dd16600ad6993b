// import() for the modules the CLI loads by name at run time: plugins, sql.js, the embedded
// PostgreSQL packages. Inside the bin's bundle, run from V8's code cache (src/code-cache.ts),
// Node 20 cannot import(): a script compiled from cached data loses its dynamic-import callback
// ("A dynamic import callback was not specified"). So the bin (src/npm-bin.ts) lends its own
// import() under this symbol; the library and the single executable use plain import().
export const HOST_IMPORT = Symbol.for('pg-preflight.import');

type Importer = (specifier: string) => Promise<unknown>;

export function importModule(specifier: string): Promise<unknown> {
  const host = (globalThis as { [HOST_IMPORT]?: Importer })[HOST_IMPORT];
  return host ? host(specifier) : import(specifier);
}
