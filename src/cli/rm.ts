import { writeOut, writeText } from '../ui/output.js';
import { unlink } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { disksCreatedFor, forgetDisk, ownership, type DiskRecord } from '../guests/owned-disks.js';
import { GuestStore } from '../guests/store.js';
import { writeGuard } from '../guests/write-guard.js';
import { thisMachine } from '../host/open.js';
import { describeOutside, findRunning } from '../launch/running.js';
import { EXIT, WHEN } from '../exit-codes.js';
import { jsonText } from '../ui/escape.js';
import { RmReportSchema, type RmReport } from '../guests/report-schema.js';

export interface RmOptions {
  deleteDisk?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** The disk `rm --delete-disk` may delete: created by talos-mac, still that file, no other guest's. */
async function deletableDisk(store: GuestStore, name: string, disk: string | undefined): Promise<DiskRecord> {
  const q = JSON.stringify;
  const keep = `Remove the guest without --delete-disk to keep the disk.`;
  if (disk === undefined) {
    // The definition no longer says which disk: only one talos-mac made for this guest qualifies.
    const mine = await disksCreatedFor(store.paths, name);
    const still = (await Promise.all(mine.map(async (r) => ({ r, o: await ownership(store.paths, r.path) })))).filter(({ o }) => 'record' in o);
    if (still.length !== 1) throw new UserError(`--delete-disk: the definition of ${q(name)} does not say which disk is its own, and talos-mac created none it can prove. ${keep}`);
    disk = still[0]!.r.path;
  }
  const o = await ownership(store.paths, disk);
  if ('problem' in o) throw new UserError(`--delete-disk: ${q(disk)} is not deleted: ${o.problem}; talos-mac deletes only disks it created. ${keep}`);
  const guard = await writeGuard(store, 'delete', { mine: { guest: name, role: 'disk' }, orphansAreMine: true });
  await guard.check(o.record.path).catch((e: Error) => {
    throw new UserError(`--delete-disk: ${e.message.replace(/ Nothing was changed\.$/, '')} ${keep}`);
  });
  return o.record;
}

export async function rmCommand(name: string, opts: RmOptions): Promise<number> {
  const store = new GuestStore();
  const entry = await store.readForRemoval(name);
  const g = 'guest' in entry ? entry.guest : undefined;
  const disk = g?.disk ?? ('disk' in entry ? entry.disk : undefined);
  const running = await findRunning(thisMachine(), store.paths, { name, disk, disk_format: g?.disk_format });
  if (running?.by === 'talos-mac') throw new UserError(`${name} is running (QEMU pid ${running.pid}): stop it first (talos-mac stop ${name}).`, WHEN.guestRunning);
  if (running && opts.deleteDisk) throw new UserError(`${name} cannot be removed with its disk: ${describeOutside(running, disk!)}.`, WHEN.guestRunning);
  const record = opts.deleteDisk ? await deletableDisk(store, name, disk) : undefined;
  const report = (removed: boolean, diskDeleted: boolean, text: string): number => {
    const doc: RmReport = { schema: 'talos-mac/rm@1', name, removed, definitionInvalid: 'problem' in entry, disk: disk ?? null, diskDeleted };
    if (opts.json) writeOut(jsonText(RmReportSchema.parse(doc)) + '\n');
    else writeText(text);
    return EXIT.OK;
  };
  if (record && !opts.yes) {
    if (!process.stdin.isTTY || opts.json) throw new UserError(`--delete-disk deletes ${JSON.stringify(record.path)}: confirm with --yes (${opts.json ? 'with --json nothing is asked' : 'no terminal to ask on'}).`);
    const { confirm } = await import('@inquirer/prompts');
    if (!(await confirm({ message: `Delete the disk ${JSON.stringify(record.path)} for good?`, default: false }))) return report(false, false, 'Nothing removed.\n');
  }
  await store.remove(name);
  const broken = 'problem' in entry ? ' (its definition did not parse)' : '';
  if (record) {
    await unlink(record.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new UserError(`removed the definition, but could not delete ${JSON.stringify(record.path)}: ${err.message}`, 1);
    });
    await forgetDisk(store.paths, record);
    return report(true, true, `Removed ${name}${broken} and deleted its disk ${record.path}.\n`);
  }
  return report(true, false, `Removed ${name}${broken}. Its disk is kept${disk ? `: ${disk}` : ''}.\n`);
}
