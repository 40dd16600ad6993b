// Parsers and validators for the machine formats, used by every test that produces them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
let sarifValidator: ValidateFunction | undefined;

/**
 * The SARIF 2.1.0 JSON schema (draft-04) as Microsoft's SARIF SDK ships it. Its `language`
 * pattern has a stray `]` that a unicode-mode RegExp rejects, hence unicodeRegExp: false.
 */
function validator(): ValidateFunction {
  if (!sarifValidator) {
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    // CommonJS modules that set both module.exports and exports.default: .default works either way.
    const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
    ajvFormats.default(ajv);
    sarifValidator = ajv.compile(schema);
  }
  return sarifValidator!;
}

/** Parses a SARIF log and throws with every schema error when it is not valid SARIF 2.1.0. */
export function validSarif(text: string): SarifLog {
  const doc = JSON.parse(text);
  const validate = validator();
  if (!validate(doc)) throw new Error(`invalid SARIF:\n${JSON.stringify(validate.errors, null, 2)}`);
  return doc as SarifLog;
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } };
    logicalLocations?: { fullyQualifiedName: string; name: string; kind: string }[];
  }[];
  suppressions?: { kind: string; status: string; justification: string }[];
  properties: { database: string; status: string; object?: string };
}

export interface SarifLog {
  version: string;
  runs: {
    tool: { driver: { name: string; rules: { id: string; shortDescription: { text: string }; help?: { text: string; markdown: string }; helpUri?: string }[] } };
    invocations: { executionSuccessful: boolean; toolExecutionNotifications?: { message: { text: string } }[] }[];
    results: SarifResult[];
  }[];
}

export interface JunitCase {
  '@_name': string;
  '@_classname': string;
  failure?: { '#text'?: string; '@_message': string; '@_type': string };
  error?: { '#text'?: string; '@_message': string; '@_type': string };
  skipped?: { '@_message': string };
  'system-out'?: string;
}

export interface JunitSuite {
  '@_name': string;
  '@_tests': string;
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  testcase: JunitCase[];
}

/** Validates the XML, then parses testsuites/testsuite/testcase with attributes as @_name. */
export function parseJunit(text: string): { '@_tests': string; '@_failures': string; '@_errors': string; testsuite: JunitSuite[] } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => name === 'testsuite' || name === 'testcase' || name === 'property',
  });
  return parser.parse(text).testsuites;
}

export interface Annotation {
  command: string;
  properties: Record<string, string>;
  message: string;
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) => unescapeData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));

/**
 * GitHub workflow commands, as documented: `::command key=value,key=value::message` on one line,
 * with %, CR and LF encoded in the message and also `:` and `,` in property values.
 */
export function parseWorkflowCommands(text: string): { annotations: Annotation[]; other: string[] } {
  const annotations: Annotation[] = [];
  const other: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('::')) {
      other.push(line);
      continue;
    }
    const m = /^::(error|warning|notice)(?: ((?:[a-zA-Z]+=[^,:\r\n]*)(?:,[a-zA-Z]+=[^,:\r\n]*)*))?::([^\r\n]*)$/.exec(line);
    if (!m) throw new Error(`not a workflow command: ${line}`);
    const properties: Record<string, string> = {};
    for (const p of m[2]?.split(',') ?? []) {
      const eq = p.indexOf('=');
      properties[p.slice(0, eq)] = unescapeProperty(p.slice(eq + 1));
    }
    if (/%(?!25|0D|0A)/.test(m[3]!)) throw new Error(`unescaped % in message: ${line}`);
    annotations.push({ command: m[1]!, properties, message: unescapeData(m[3]!) });
  }
  return { annotations, other };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The Prometheus text format, line by line: every sample's metric has # HELP and # TYPE before
 * it, label values are quoted with \\, \" and \n escapes, values are numbers.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Record<string, string>; help: Record<string, string> } {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      help[m[1]!] = m[2]!;
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|untyped|histogram|summary)$/.exec(line))) {
      if (!help[m[1]!]) throw new Error(`TYPE before HELP for ${m[1]}`);
      types[m[1]!] = m[2]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))$/.exec(line);
    if (!m) throw new Error(`not a Prometheus text line: ${line}`);
    if (!types[m[1]!]) throw new Error(`sample before its # TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, help };
}
