/**
 * File-system helpers the gate's fail-closed paths rely on.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `mkdir -p` that always ends. Node 20's recursive mkdirSync spins forever on some errors
 * (ENOENT under /proc, for one), which would turn "the store cannot be created" into a hang;
 * this walks up to the first existing directory and creates each level below it.
 */
export function makeDirectories(path: string, mode = 0o700): void {
  const missing: string[] = [];
  let dir = path;
  for (;;) {
    try {
      if (statSync(dir).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      // another process may create the same directory at the same time
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
