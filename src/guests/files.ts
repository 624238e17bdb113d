import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeNewFile as writeNewFileAtomic } from '../privileged/atomic-file.js';

/** A new file (never replacing one), atomically; created with its parent folders. */
export async function writeNewFile(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeNewFileAtomic(path, text, mode);
}

/** Creates an empty file that must not exist yet (O_EXCL): the reservation that keeps qemu-img from overwriting a disk. */
export async function reserveNewFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'wx', 0o644);
  await fh.close();
}

export const isErrno = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException)?.code === code;
