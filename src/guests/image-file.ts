import { stat } from 'node:fs/promises';
import { imageProblem } from '../host/file-kind.js';
import type { Host } from '../host/host.js';

/**
 * Why `path` cannot be a guest's disk, CD or share image: file-kind.ts imageProblem (never opens a
 * FIFO or a device, nor lets qemu-img open one down the backing chain), and not empty.
 */
export async function imageFileProblem(host: Host, path: string, format?: string): Promise<string | undefined> {
  const problem = await imageProblem(path, { host, format });
  if (problem) return problem;
  const st = await stat(path).catch(() => undefined);
  return st?.isFile() && st.size === 0 ? 'is empty (0 bytes)' : undefined;
}

export async function isBlockDevice(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isBlockDevice() ?? false;
}
