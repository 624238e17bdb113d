import { unlink } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { isErrno, reserveNewFile } from './files.js';

export const DISK_SIZE = /^[1-9]\d*(?:\.\d+)?[KMGT]?$/i;

/**
 * Creates a new qcow2 disk. `qemu-img create` silently overwrites an existing file (KNOWLEDGE §2),
 * so the path is reserved with O_EXCL first and the create refused if anything is there.
 */
export async function createDisk(host: Host, path: string, size: string): Promise<void> {
  if (!DISK_SIZE.test(size)) throw new UserError(`invalid disk size "${size}": a number with an optional K, M, G or T suffix (e.g. 20G)`);
  try {
    await reserveNewFile(path);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      throw new UserError(`${path} already exists: talos-mac never overwrites a disk. Use it with --disk ${JSON.stringify(path)}, or move it away first.`);
    }
    throw new UserError(`cannot create ${path}: ${(err as Error).message}`);
  }
  const r = await host.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path, size], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    await unlink(path).catch(() => undefined);
    throw new UserError(`could not create the disk: ${describeCommandFailure(r)}`, 1);
  }
}

/** The image format qemu-img detects (-U: also while a running QEMU holds the lock). */
export async function detectFormat(host: Host, path: string): Promise<string> {
  const r = await host.run(['qemu-img', 'info', '-U', '--output=json', path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new UserError(`cannot use ${path} as a disk: ${describeCommandFailure(r)}`);
  const format = (JSON.parse(r.stdout) as { format?: string }).format;
  if (!format) throw new UserError(`qemu-img could not tell the format of ${path}`);
  return format;
}

/** True when no block of the image holds data (a disk nothing was installed on yet). */
export async function diskIsEmpty(host: Host, path: string, format: string): Promise<boolean | undefined> {
  const r = await host.run(['qemu-img', 'map', '-U', '--output=json', '-f', format, path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) return undefined;
  try {
    const extents = JSON.parse(r.stdout) as Array<{ data?: boolean; zero?: boolean }>;
    return !extents.some((e) => e.data && !e.zero);
  } catch {
    return undefined;
  }
}
