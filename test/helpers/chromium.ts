// Debian's chromium, headless, for tests and the bench that look at the HTML report the way a
// reader does: the DOM after the page's script ran, a PNG, a PDF. No vitest import here, so the
// bench can use it too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function find(names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** The browser, when installed (.ci/run installs Debian's `chromium`); tests skip visibly otherwise. */
export const CHROMIUM = process.env.CHROMIUM ?? find(['chromium', 'chromium-browser']);
/** poppler-utils, to read the text of the printed PDF. */
export const PDFTOTEXT = find(['pdftotext']);

export interface BrowserRun {
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * One headless chromium run over a local file. Its own profile directory, so runs never share
 * state; --no-sandbox only as root, where chromium refuses to start with its sandbox.
 */
export function runChromium(file: string, args: string[], opts: { width?: number; height?: number } = {}): BrowserRun {
  if (!CHROMIUM) throw new Error('chromium is not installed');
  const profile = mkdtempSync(join(tmpdir(), 'pgpf-chromium-'));
  try {
    const argv = [
      '--headless',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      `--window-size=${opts.width ?? 1280},${opts.height ?? 900}`,
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      ...args,
      pathToFileURL(file).href,
    ];
    const t0 = performance.now();
    const r = spawnSync(CHROMIUM, argv, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t0;
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`chromium exited with ${r.status}: ${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr, ms };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM as serialized after it loaded and its scripts ran. */
export function dumpDom(file: string, opts: { width?: number; height?: number } = {}): BrowserRun {
  return runChromium(file, ['--dump-dom'], opts);
}

export function screenshot(file: string, png: string, opts: { width?: number; height?: number } = {}): BrowserRun {
  return runChromium(file, [`--screenshot=${png}`], opts);
}

export function printToPdf(file: string, pdf: string): BrowserRun {
  return runChromium(file, [`--print-to-pdf=${pdf}`, '--no-pdf-header-footer'], {});
}

/** The text of a PDF as pdftotext reads it (reading order, one page after another). */
export function pdfText(pdf: string): string {
  if (!PDFTOTEXT) throw new Error('pdftotext (poppler-utils) is not installed');
  const r = spawnSync(PDFTOTEXT, ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`pdftotext exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}
