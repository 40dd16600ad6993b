// node-postgres's own conversion of a parameter to the text it sends (arrays as array literals,
// dates, buffers, JSON); @types/pg does not declare it.
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): unknown };
  export default utils;
}
