import { codesOf } from '../codes.js';
import { EXIT } from '../errors.js';
import { allChecks, findCheck } from '../registry.js';
import type { Format } from './common-options.js';
import type { Io } from './io.js';

export function listCommand(args: { format: Format }, io: Io): number {
  const checks = allChecks();
  if (args.format === 'json') {
    const rows = checks.map((c) => ({ id: c.id, title: c.title, description: c.description, tags: c.tags ?? [], params: c.params ?? {}, codes: codesOf(c) }));
    io.stdout(JSON.stringify(rows, null, 2) + '\n');
  } else {
    const width = Math.max(...checks.map((c) => c.id.length));
    io.stdout(checks.map((c) => `${c.id.padEnd(width)}  ${c.title}`).join('\n') + '\n');
  }
  return EXIT.ok;
}

export function explainCommand(id: string, io: Io): number {
  const check = findCheck(allChecks(), id);
  const params = Object.entries(check.params ?? {});
  const paramText = params.length
    ? `\n\nParams (set with --set ${check.id}.<name>=<value>):\n` +
      params.map(([name, p]) => `  ${name} (${p.type}, default ${JSON.stringify(p.default)}): ${p.description}`).join('\n')
    : '';
  const codes = Object.entries(codesOf(check));
  const width = Math.max(...codes.map(([c]) => c.length));
  const codeText = `\n\nCodes (what its findings carry; a waiver may name one with code:):\n` + codes.map(([c, s]) => `  ${c.padEnd(width)}  ${s.status.padEnd(7)}  ${s.summary}${s.fixable ? ' (pg-preflight fix applies it)' : ''}`).join('\n');
  io.stdout(`${check.id}: ${check.title}\n\n${check.description}\n\n${check.docs.trim()}${paramText}${codeText}\n`);
  return EXIT.ok;
}
