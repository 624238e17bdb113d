import { lstat, readdir, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { isErrno, writeNewFile } from './files.js';
import type { GuestPaths } from './paths.js';

/**
 * The disks talos-mac created, one record each under the state dir (not in the hand-edited
 * definition): `rm --delete-disk` deletes a file only when it is still exactly the one created —
 * the same path after realpath, device, inode and birth time.
 */
const RecordSchema = z.object({ path: z.string(), dev: z.number(), ino: z.number(), birthtimeMs: z.number(), guest: z.string(), created: z.string() });
export type DiskRecord = z.infer<typeof RecordSchema>;

const recordsDir = (paths: GuestPaths): string => join(paths.state, 'disks');
const recordFile = (paths: GuestPaths, dev: number, ino: number): string => join(recordsDir(paths), `${dev}-${ino}.json`);

export async function recordCreatedDisk(paths: GuestPaths, path: string, guest: string): Promise<DiskRecord> {
  const real = await realpath(path);
  const st = await stat(real);
  const record: DiskRecord = { path: real, dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs, guest, created: new Date().toISOString() };
  const file = recordFile(paths, st.dev, st.ino);
  // A record left by a deleted disk whose inode was reused: this file is a new one.
  await unlink(file).catch(() => undefined);
  await writeNewFile(file, JSON.stringify(record, null, 2) + '\n', 0o600);
  return record;
}

async function readRecord(file: string): Promise<DiskRecord | undefined> {
  try {
    return RecordSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Why talos-mac will not delete `path`, or its creation record when it may. */
export async function ownership(paths: GuestPaths, path: string): Promise<{ record: DiskRecord } | { problem: string }> {
  let l;
  try {
    l = await lstat(path);
  } catch (err) {
    return { problem: isErrno(err, 'ENOENT') ? 'it does not exist' : `it cannot be examined (${(err as Error).message})` };
  }
  if (l.isSymbolicLink()) return { problem: 'it is a symlink (talos-mac never deletes through one)' };
  if (!l.isFile()) return { problem: 'it is not a regular file' };
  const real = await realpath(path);
  const record = await readRecord(recordFile(paths, l.dev, l.ino));
  const same = record && record.path === real && (record.birthtimeMs === 0 || l.birthtimeMs === 0 || record.birthtimeMs === l.birthtimeMs);
  if (!same) return { problem: 'talos-mac did not create it (it was given with --disk, or replaced since)' };
  return { record };
}

export async function forgetDisk(paths: GuestPaths, r: DiskRecord): Promise<void> {
  await unlink(recordFile(paths, r.dev, r.ino)).catch(() => undefined);
}

/** Every disk talos-mac recorded creating (whether or not a definition still names it). */
export async function createdDisks(paths: GuestPaths): Promise<DiskRecord[]> {
  const files = await readdir(recordsDir(paths)).catch(() => [] as string[]);
  const records = await Promise.all(files.map((f) => readRecord(join(recordsDir(paths), f))));
  return records.filter((r): r is DiskRecord => r !== undefined);
}

/** The disks talos-mac created for guest `name` (for a definition that no longer parses). */
export async function disksCreatedFor(paths: GuestPaths, name: string): Promise<DiskRecord[]> {
  return (await createdDisks(paths)).filter((r) => r.guest === name);
}
