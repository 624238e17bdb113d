import { builtin } from '../builtin.js';
import { chmod, chown, link, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.talos-mac-${process.pid}-${builtin.crypto().randomBytes(4).toString('hex')}.tmp`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files an interrupted earlier run left beside `path` (their writer is gone). */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.talos-mac-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(prefix) && /^(\d+)-[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
    if (m && !alive(Number(m[1]))) await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

/**
 * Replaces (or creates) `path` so that a crash at any moment leaves either the old or the new
 * content: temp file beside it, fsync, keep the old file's mode and owner, rename, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: Buffer, newFileMode = 0o644): Promise<void> {
  const old = await stat(path).catch(() => undefined);
  await removeStaleTemps(path);
  const tmp = tempPathBeside(path);
  const fh = await open(tmp, 'wx', old ? old.mode & 0o7777 : newFileMode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (old) {
      await chmod(tmp, old.mode & 0o7777);
      if (process.getuid?.() === 0) await chown(tmp, old.uid, old.gid);
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}

/**
 * Writes a file that must not exist yet (backups, records, guest definitions), atomically: a
 * temp file beside it (fsynced), then link(2), which fails with EEXIST instead of replacing
 * (rename would overwrite). Readers see the whole file or none.
 */
export async function writeNewFile(path: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const tmp = tempPathBeside(path);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dirname(path));
}
