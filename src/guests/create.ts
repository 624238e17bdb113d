import { access, constants, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { findOs, OS_CATALOG } from './catalog.js';
import { describeIssues, GuestSchema, type Guest } from './definition.js';
import { createDisk, detectFormat } from './disk.js';
import { checkName } from './names.js';
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
}

async function mustExist(path: string, what: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UserError(`${what} ${path} does not exist (or is not readable).`);
  }
}

/**
 * Validates everything first, then creates the disk (or adopts --disk), then writes the
 * definition; if writing fails, the disk it just made is removed again.
 */
export async function createGuest(store: GuestStore, host: Host, name: string, o: CreateOptions): Promise<{ guest: Guest; file: string; createdDisk: boolean }> {
  checkName(name);
  const os = findOs(o.os);
  if (!os) throw new UserError(`unknown OS "${o.os}": use one of ${OS_CATALOG.map((e) => `${e.id} (${e.aliases.filter((a) => /[a-z]/.test(a)).slice(0, 2).join(', ')})`).join(', ')}`);
  if (o.disk !== undefined && o.diskSize !== undefined) throw new UserError('--disk uses an existing image; --disk-size is for a new one: give one of them.');
  if (await store.exists(name)) throw new UserError(`a guest named "${name}" already exists (${store.file(name)}); pick another name or talos-mac rm ${name}`);

  const disk = o.disk !== undefined ? resolve(o.disk) : defaultDiskFile(store.paths, name);
  const cdrom = o.cdrom !== undefined ? resolve(o.cdrom) : undefined;
  if (cdrom !== undefined) await mustExist(cdrom, 'CD image');
  if (o.disk !== undefined) await mustExist(disk, 'disk image');
  const ram = o.ram === undefined ? os.ramMb : /^\d+$/.test(o.ram) ? Number(o.ram) : NaN;
  const candidate = {
    name,
    os: os.id,
    ram: Number.isNaN(ram) ? o.ram : ram,
    ...(o.cpu !== undefined ? { cpu: o.cpu } : {}),
    disk,
    disk_format: o.disk !== undefined ? await detectFormat(host, disk) : 'qcow2',
    ...(cdrom !== undefined ? { cdrom } : {}),
    net: o.net ?? 'user',
    ...(o.nic !== undefined ? { nic: o.nic } : {}),
    resolution: o.resolution ?? os.resolution,
  };
  const parsed = GuestSchema.safeParse(candidate);
  if (!parsed.success) throw new UserError(`cannot create ${name}:\n${describeIssues(parsed.error).replace(/^ {2}(\w+):/gm, (_m, f: string) => `  --${f.replace('_', '-')}:`)}`);

  let createdDisk = false;
  if (o.disk === undefined) {
    await createDisk(host, disk, o.diskSize ?? `${os.diskGb}G`);
    createdDisk = true;
  }
  try {
    const file = await store.create(parsed.data);
    return { guest: parsed.data, file, createdDisk };
  } catch (err) {
    if (createdDisk) await unlink(disk).catch(() => undefined);
    throw err;
  }
}
