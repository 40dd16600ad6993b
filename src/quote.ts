// Every identifier and literal we print or run goes through here, so that a sequence named
// `My "odd" seq` gives SQL that works when pasted.

/** Like PostgreSQL's quote_ident / format('%I'), but always quotes: simpler to read, always right. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.name, each part quoted. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Like format('%L'): a string literal, with E'' when a backslash needs escaping. */
export function quoteLiteral(value: string): string {
  const body = value.replace(/'/g, "''");
  return body.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** A POSIX shell word: safe characters pass as they are, anything else in single quotes. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
