import { OWN_PACKAGE } from './package-json.js';

/** The package's own name and version. */
export const TOOL = { name: 'pg-preflight', version: OWN_PACKAGE?.json.version ?? '0.0.0' };

/** What `--version` prints. */
export const VERSION = TOOL.version;
