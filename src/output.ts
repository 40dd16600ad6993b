// Writing reports to files. A reader (node_exporter's textfile collector, a CI upload step) must
// never see half a file: write a temporary file in the same directory, then rename it over the
// target, which POSIX makes atomic within one file system.
import { accessSync, closeSync, constants, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { builtin } from './builtin.js';
import { usageError } from './errors.js';

/** Fails early, with exit 2, when a report could not be written: before any database is checked. */
export function assertWritable(file: string, flag: string): void {
  const path = resolve(file);
  const dir = dirname(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw usageError('output-dir', `${flag} ${file}: the directory ${dir} does not exist; create it or choose another path`);
  }
  if (!isDir) throw usageError('output-dir', `${flag} ${file}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw usageError('output-dir', `${flag} ${file}: the directory ${dir} is not writable by this user`);
  }
  let existing;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) throw usageError('output-dir', `${flag} ${file} is a directory; give a file name`);
}

export function writeFileAtomic(file: string, text: string): void {
  const path = resolve(file);
  // Hidden and ending in .tmp: the textfile collector reads only *.prom, a CI upload glob skips it.
  const { randomBytes } = builtin('node:crypto');
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw usageError('output-write', `cannot write ${file}: ${e.code ?? e.message}; check the path and its permissions`);
  }
}
