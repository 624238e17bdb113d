import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { findOs, OS_CATALOG } from './catalog.js';
import { describeIssues, GuestSchema, type Guest } from './definition.js';
import { createDisk, detectFormat, parseDiskSize } from './disk.js';
import { imageFileProblem, isBlockDevice } from './image-file.js';
import { admitDisc, type AdmittedDisc } from './media-check.js';
import { checkName } from './names.js';
import { parseRamMb, RAM_SIZE_HINT } from '../parse/size.js';
import { forgetDisk, recordCreatedDisk, type DiskRecord } from './owned-disks.js';
import { defaultDiskFile } from './paths.js';
import type { GuestStore } from './store.js';

export interface CreateOptions {
  os: string;
  ram?: string | undefined;
  diskSize?: string | undefined;
  disk?: string | undefined;
  cdrom?: string | undefined;
  cpu?: string | undefined;
  net?: string | undefined;
  nic?: string | undefined;
  resolution?: string | undefined;
  /** --disk is already another guest's: share it knowingly. */
  shareDisk?: boolean | undefined;
  /** --disk is a raw image: the user says so (qemu-img calls anything it does not recognise raw). */
  raw?: boolean | undefined;
  /** Asked when --disk looks raw and --raw was not given (a terminal); refused without one. */
  confirmRaw?: ((path: string) => Promise<boolean>) | undefined;
  /** --force: use a --cdrom that is not a PowerPC Mac boot disc (media-check.ts admitDisc). */
  force?: boolean | undefined;
}

async function mustBeImage(host: Host, path: string, flag: string, given: string): Promise<void> {
  const problem = await imageFileProblem(host, path);
  if (problem) throw new UserError(`${flag} ${JSON.stringify(given)}${given === path ? '' : ` (${JSON.stringify(path)})`} ${problem}.`);
}

/**
 * --cdrom as create and set take it: an absolute path to an image file that `media check` calls a
 * PowerPC Mac boot disc (or --force). Returns the path and what --force let in.
 */
export async function cdromFlag(host: Host, given: string, force: boolean | undefined): Promise<AdmittedDisc & { cdrom: string }> {
  // resolve('') is the current directory: an empty value is refused, never taken for a path.
  const cdrom = given !== '' ? resolve(given) : given;
  await mustBeImage(host, cdrom, '--cdrom', given);
  return { cdrom, ...(await admitDisc(host, cdrom, { flag: '--cdrom', force })) };
}

/** --ram as given: MiB, or a size with a unit (the one size parser); the range is GuestSchema's to refuse by name. */
export function ramFlag(ram: string): number {
  const mb = parseRamMb(ram);
  if (mb === undefined) throw new UserError(`--ram ${JSON.stringify(ram)}: give the RAM in ${RAM_SIZE_HINT}.`);
  return mb;
}

/** A definition checked by GuestSchema, each problem named by the flag that sets it (create and set). */
export function checkedGuest(verb: string, name: string, candidate: Record<string, unknown>): Guest {
  const parsed = GuestSchema.safeParse(candidate);
  if (!parsed.success) throw new UserError(`cannot ${verb} ${name}:\n${describeIssues(parsed.error).replace(/^ {2}(\w+):/gm, (_m, f: string) => `  --${f.replace('_', '-')}:`)}`);
  return parsed.data;
}

/** What QEMU can use as this guest's disk: an image format qemu-img recognises, or raw data the user vouches for. */
async function adoptDisk(store: GuestStore, host: Host, name: string, disk: string, o: CreateOptions): Promise<string> {
  await mustBeImage(host, disk, '--disk', o.disk!);
  const users = await store.guestsUsingDisk(disk, name);
  if (users.length > 0 && !o.shareDisk) {
    throw new UserError(
      `--disk ${JSON.stringify(o.disk)} is already the disk of ${users.map((u) => JSON.stringify(u)).join(', ')}: two guests writing one disk corrupt it. ` +
        `Give --share-disk to share it knowingly (never run them at once; talos-mac then never deletes it while another guest uses it).`,
    );
  }
  const format = (await isBlockDevice(disk)) ? 'raw' : await detectFormat(host, disk);
  if (o.raw && format !== 'raw') throw new UserError(`--raw given, but ${JSON.stringify(o.disk)} is a ${format} image: leave out --raw (using it as raw would corrupt it).`);
  if (format === 'raw' && !o.raw) {
    const what = `${JSON.stringify(o.disk)} is not a disk image format qemu-img knows (qcow2, vmdk, …): QEMU would use it as a raw disk and write to it`;
    if (!o.confirmRaw) throw new UserError(`${what}. If it is a raw disk image, say so with --raw.`);
    if (!(await o.confirmRaw(disk))) throw new UserError(`${what}; not confirmed, nothing was created.`);
  }
  return format;
}

/**
 * Validates everything first, then creates the disk (or adopts --disk), then writes the
 * definition; if writing fails, the disk it just made is removed again.
 */
export async function createGuest(store: GuestStore, host: Host, name: string, o: CreateOptions): Promise<{ guest: Guest; file: string; createdDisk: boolean; warning?: string }> {
  checkName(name);
  const os = findOs(o.os);
  if (!os) throw new UserError(`unknown OS ${JSON.stringify(o.os)}: use one of ${OS_CATALOG.map((e) => `${e.id} (${e.aliases.filter((a) => /[a-z]/.test(a)).slice(0, 2).join(', ')})`).join(', ')}`);
  if (o.disk !== undefined && o.diskSize !== undefined) throw new UserError('--disk uses an existing image; --disk-size is for a new one: give one of them.');
  if (await store.exists(name)) throw new UserError(`a guest named "${name}" already exists (${store.file(name)}); pick another name or talos-mac rm ${name}`);
  if (o.shareDisk && o.disk === undefined) throw new UserError('--share-disk goes with --disk (a new disk is never shared)');
  if (o.raw && o.disk === undefined) throw new UserError('--raw goes with --disk (new disks are qcow2)');
  const bytes = o.disk === undefined ? parseDiskSize(o.diskSize ?? `${os.diskGb}G`) : undefined;

  // resolve('') is the current directory: an empty value is refused, never taken for a path.
  const disk = o.disk !== undefined && o.disk !== '' ? resolve(o.disk) : o.disk === '' ? '' : defaultDiskFile(store.paths, name);
  const disc = o.cdrom !== undefined ? await cdromFlag(host, o.cdrom, o.force) : undefined;
  const cdrom = disc?.cdrom;
  const format = o.disk !== undefined ? await adoptDisk(store, host, name, disk, o) : 'qcow2';
  const candidate = {
    name,
    os: os.id,
    ram: o.ram === undefined ? os.ramMb : ramFlag(o.ram),
    ...(o.cpu !== undefined ? { cpu: o.cpu } : {}),
    disk,
    disk_format: format,
    ...(cdrom !== undefined ? { cdrom } : {}),
    net: o.net ?? 'user',
    ...(o.nic !== undefined ? { nic: o.nic } : {}),
    resolution: o.resolution ?? os.resolution,
  };
  const guest = checkedGuest('create', name, candidate);

  let createdDisk = false;
  if (bytes !== undefined) {
    await createDisk(host, disk, bytes);
    createdDisk = true;
  }
  let record: DiskRecord | undefined;
  try {
    if (createdDisk) record = await recordCreatedDisk(store.paths, disk, name);
    const file = await store.create(guest);
    return { guest, file, createdDisk, ...(disc?.warning ? { warning: disc.warning } : {}) };
  } catch (err) {
    if (record) await forgetDisk(store.paths, record);
    if (createdDisk) await unlink(disk).catch(() => undefined);
    throw err;
  }
}
