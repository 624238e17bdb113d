import { unlink } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { isErrno, reserveNewFile } from './files.js';
import { parseSize, SIZE_UNITS as UNITS } from '../parse/size.js';

export const MIN_DISK_BYTES = UNITS.M;
/**
 * A PowerPC Mac boots from an Apple partition map, whose block numbers are 32-bit with
 * 512-byte blocks (Inside Macintosh: Devices, "Partition map entry"): 2 TiB is all it can address.
 */
export const MAX_DISK_BYTES = 2 * UNITS.T;
const RANGE = '1M to 2T (a PowerPC Mac\'s Apple partition map addresses at most 2 TiB)';

/** `20G`, `512M`, `1.5G` → bytes (rounded up to whole 512-byte sectors); anything else is a usage error naming the range. */
export function parseDiskSize(size: string): number {
  const given = parseSize(size, 1);
  if (given === undefined) throw new UserError(`invalid disk size ${JSON.stringify(size)}: a number with a K, M, G or T suffix, e.g. 20G; from ${RANGE}`);
  const bytes = Math.ceil(given / 512) * 512;
  if (!(bytes >= MIN_DISK_BYTES && bytes <= MAX_DISK_BYTES)) throw new UserError(`disk size ${JSON.stringify(size)} is out of range: from ${RANGE}`);
  return bytes;
}

/**
 * Creates a new qcow2 disk of `bytes` (parseDiskSize). `qemu-img create` silently overwrites an
 * existing file [inferred: seen by hand with qemu-img 7.2, no test pins it], so the path is reserved with O_EXCL first and
 * the create refused if anything is there.
 */
export async function createDisk(host: Host, path: string, bytes: number): Promise<void> {
  try {
    await reserveNewFile(path);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      throw new UserError(`${JSON.stringify(path)} already exists: talos-mac never overwrites a disk. Use it with --disk ${JSON.stringify(path)}, or move it away first.`);
    }
    throw new UserError(`cannot create ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  const r = await host.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path, String(bytes)], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    await unlink(path).catch(() => undefined);
    throw new UserError(`could not create the disk: ${describeCommandFailure(r)}`, 1);
  }
}

/** The image format qemu-img detects (-U: also while a running QEMU holds the lock). */
export async function detectFormat(host: Host, path: string): Promise<string> {
  const r = await host.run(['qemu-img', 'info', '-U', '--output=json', path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new UserError(`cannot use ${JSON.stringify(path)} as a disk: ${describeCommandFailure(r)}`);
  const format = (JSON.parse(r.stdout) as { format?: string }).format;
  if (!format) throw new UserError(`qemu-img could not tell the format of ${JSON.stringify(path)}`);
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

/**
 * True when a running QEMU has the image open: QEMU holds OFD locks on its images, so `qemu-img
 * info` without -U fails with 'Failed to get shared "write" lock' (raw_check_lock_bytes(), block/file-posix.c). However that
 * QEMU was started, by talos-mac or by hand. Undefined when qemu-img cannot tell.
 */
export async function diskInUse(host: Host, path: string, format: string): Promise<boolean | undefined> {
  const r = await host.run(['qemu-img', 'info', '--output=json', '-f', format, path], { timeoutMs: 30_000 });
  if (r.exitCode === 0) return false;
  return /Failed to get (?:shared )?"(?:write|read|consistent read)" lock/.test(r.stderr) ? true : undefined;
}
