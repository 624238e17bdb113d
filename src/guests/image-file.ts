import { stat } from 'node:fs/promises';
import { isErrno } from './files.js';
import { describeFileKind } from '../host/file-kind.js';

/**
 * Why `path` cannot be a guest's disk or CD, by stat(2) alone: a FIFO is never opened (opening
 * one blocks until a writer comes). A block device is a real drive (a CD drive, a disk).
 */
export async function imageFileProblem(path: string): Promise<string | undefined> {
  if (path === '') return 'is empty (no path given)';
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return 'does not exist';
    if (isErrno(err, 'ELOOP')) return 'is a symlink loop';
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (st.isFile()) return st.size === 0 ? 'is empty (0 bytes)' : undefined;
  if (!st.isBlockDevice()) return `is ${describeFileKind(st)}, not an image file`;
  return undefined;
}

export async function isBlockDevice(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isBlockDevice() ?? false;
}
