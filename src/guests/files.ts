import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file that must not exist yet, atomically: a temp file beside it (fsynced), then
 * link(2), which fails with EEXIST instead of replacing (rename would overwrite).
 */
export async function writeNewFile(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Creates an empty file that must not exist yet (O_EXCL): the reservation that keeps qemu-img from overwriting a disk. */
export async function reserveNewFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'wx', 0o644);
  await fh.close();
}

export const isErrno = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException)?.code === code;
