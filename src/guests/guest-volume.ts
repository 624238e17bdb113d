/**
 * A guest disk's Mac volume as a raw image 7-Zip can read, without ever writing to the disk: the
 * partition map is read from a copy of the disk's first MiB (`qemu-img dd`), and the volume's
 * partition is copied out (`qemu-img convert` of a raw view with offset and size, sparse) unless
 * the disk is raw and 7-Zip finds the volume in it directly.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { distroOfHost, installAdvice, qemuPackage } from '../distro/distro.js';
import type { Guest } from './definition.js';
import { inspectMedia, type ApmPartition } from './media.js';
import { formatBytes } from '../ui/bytes.js';
import { runTethered } from './tethered.js';
import { shown } from '../ui/escape.js';

export interface GuestVolume {
  /** A raw image whose first HFS/HFS+ volume is the one asked for. */
  readonly image: string;
  /** How the volume was found, for people: "partition 3 (Apple_HFS "Macintosh HD")". */
  readonly where: string;
  /** Bytes copied to make `image` (0: the disk itself is read). */
  readonly copied: number;
}

const HEAD_BYTES = 1 << 20;
/**
 * How far into a file 7-Zip's -thfs looks for the volume: seen here with 7-Zip 26.02, a volume 4 MiB
 * in is found and one 8 MiB in is not (no documented limit): only volumes well within are read in place.
 */
export const IN_PLACE_LIMIT = 1 << 20;
/** Free space kept beyond what the copy needs. */
const MARGIN = 64 << 20;

/** 7-Zip reads HFS+ and HFSX only: a classic HFS (Mac OS Standard) volume is not opened (seen with 7-Zip 26.02 on an hformat volume). */
function classicRefused(g: Guest, kind: string | undefined): void {
  if (kind !== 'hfs') return;
  throw new UserError(
    `the volume on the disk of ${g.name} is classic HFS (Mac OS Standard), which 7-Zip cannot read. hfsutils can: qemu-img convert -O raw ${JSON.stringify(g.disk)} copy.img; hmount copy.img; hls; hcopy -r :Folder:File DEST (while the guest is off)`,
    1,
  );
}

const isHfsType = (t: string): boolean => /^Apple_HFSX?$/i.test(t);

async function run(host: Host, argv: string[], what: string, timeoutMs = 60_000): Promise<string> {
  const r = await runTethered(host, argv, { timeoutMs });
  if (r.notFound) {
    const d = await distroOfHost(host);
    throw new UserError(`${argv[0]} is not installed. ${installAdvice(d, qemuPackage(d, 'qemu-img'), argv[0]!)}.`, 1);
  }
  if (r.exitCode !== 0) throw new UserError(`could not ${what}: ${describeCommandFailure(r)}`, 1);
  return r.stdout;
}

/** Bytes of data qemu-img has allocated in [start, start + length) of the guest-visible disk. */
async function dataBytes(host: Host, g: Guest, start: number, length: number): Promise<number> {
  const out = await run(host, ['qemu-img', 'map', '--output=json', '-f', g.disk_format, g.disk], 'map the disk', 5 * 60_000);
  let sum = 0;
  for (const e of JSON.parse(out) as Array<{ start: number; length: number; data?: boolean; zero?: boolean }>) {
    if (!e.data || e.zero) continue;
    const from = Math.max(e.start, start);
    const to = Math.min(e.start + e.length, start + length);
    if (to > from) sum += to - from;
  }
  return sum;
}

function pick(parts: readonly ApmPartition[], volume: string | undefined): ApmPartition {
  const list = parts.map((p) => `${p.index} (${shown(p.type)}${p.name ? ` "${shown(p.name)}"` : ''}${p.volume?.name ? `, volume "${shown(p.volume.name)}"` : ''})`).join(', ');
  if (volume !== undefined) {
    const hit = parts.find((p) => String(p.index) === volume || p.name === volume || p.volume?.name === volume);
    if (!hit) throw new UserError(`--volume ${shown(JSON.stringify(volume))} is none of the disk's Mac volumes: ${list}`);
    return hit;
  }
  if (parts.length > 1) throw new UserError(`the disk has ${parts.length} Mac volumes: ${list}. Say which with --volume (a partition number or name).`);
  return parts[0]!;
}

/**
 * The volume of `g`'s disk as an image in `workDir` (a private folder the caller removes), or
 * the disk itself. The caller holds the guest off (whileGuestOff): the disk does not change meanwhile.
 */
export async function guestVolume(host: Host, g: Guest, workDir: string, volume?: string, say: (line: string) => void = () => undefined): Promise<GuestVolume> {
  let head = g.disk;
  if (g.disk_format !== 'raw') {
    head = join(workDir, 'head.raw');
    await run(host, ['qemu-img', 'dd', '-f', g.disk_format, '-O', 'raw', 'bs=65536', `count=${HEAD_BYTES / 65536}`, `if=${g.disk}`, `of=${head}`], 'read the start of the disk');
  }
  const m = await inspectMedia(head);
  const parts = m.apm?.partitions.filter((p) => isHfsType(p.type)) ?? [];
  let start = 0;
  let length: number | undefined;
  let where: string;
  let first = true;
  if (parts.length > 0) {
    const p = pick(parts, volume);
    first = p === parts[0];
    start = p.startBlock * m.apm!.blockSize;
    length = p.blockCount * m.apm!.blockSize;
    where = `partition ${p.index} (${shown(p.type)}${p.name ? ` "${shown(p.name)}"` : ''})`;
  } else if (m.volumes.length > 0 && !m.apm) {
    if (volume !== undefined) throw new UserError('--volume: the disk is one volume without a partition map; leave --volume out');
    where = 'the whole disk (a volume without a partition map)';
  } else {
    const what = m.apm ? `its partition map has no HFS or HFS+ partition (${m.apm.partitions.map((p) => shown(p.type)).join(', ') || 'no entries'})` : 'it has no Mac partition map or volume (is Mac OS installed on it yet?)';
    throw new UserError(`no Mac volume on the disk of ${g.name} (${g.disk}): ${what}`, 1);
  }
  // 7-Zip's -thfs opens the first volume it finds near the start: a raw disk whose first Mac volume is the one asked for, close to the start, is read in place.
  if (g.disk_format === 'raw' && first && start <= IN_PLACE_LIMIT) {
    classicRefused(g, await inspectMedia(g.disk).then((r) => r.volumes.find((v) => v.offset >= start)?.kind));
    return { image: g.disk, where, copied: 0 };
  }
  if (length === undefined) {
    const info = JSON.parse(await run(host, ['qemu-img', 'info', '--output=json', '-f', g.disk_format, g.disk], 'read the disk size')) as { 'virtual-size': number };
    length = info['virtual-size'] - start;
  }
  const need = await dataBytes(host, g, start, length);
  const fs = await statfs(workDir);
  const free = fs.bavail * fs.bsize;
  if (need + MARGIN > free) {
    throw new UserError(
      `reading the volume needs a temporary copy of its data: ${formatBytes(need)} (plus ${formatBytes(MARGIN)} to spare), but ${JSON.stringify(workDir)} has ${formatBytes(free)} free. Give a folder with room: --temp-dir DIR. Nothing was copied.`,
      1,
    );
  }
  const file = g.disk_format === 'raw' ? { driver: 'file', filename: g.disk } : { driver: g.disk_format, file: { driver: 'file', filename: g.disk } };
  const view = `json:${JSON.stringify({ driver: 'raw', offset: start, size: length, file })}`;
  const image = join(workDir, 'volume.raw');
  say(`Copying ${formatBytes(need)} of ${where} to a temporary file in ${workDir} (${g.disk_format === 'raw' ? '7-Zip finds a volume only near the start of a file' : '7-Zip reads raw images only'})…`);
  await run(host, ['qemu-img', 'convert', '-O', 'raw', view, image], `copy the volume out of ${g.disk}`, 6 * 60 * 60_000);
  classicRefused(g, (await inspectMedia(image)).volumes[0]?.kind);
  return { image, where, copied: need };
}

