/**
 * Is a file a PowerPC Mac boot disc, and which Mac OS does it look like? Read-only, and every read
 * is bounded: a multi-GB image costs a few dozen small reads, never a load.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describeFileKind } from '../host/file-kind.js';
import { shown } from '../ui/escape.js';
import { OS_CATALOG, type OsId } from './catalog.js';

export type MediaVerdict = 'mac-boot-disc' | 'not-mac' | 'guest-disk' | 'unknown' | 'unreadable';

export interface HfsVolume {
  readonly kind: 'hfs' | 'hfs+' | 'hfsx';
  /** Byte offset of the volume in the file. */
  readonly offset: number;
  /** Found inside an HFS wrapper (the MDB's embedded-volume signature). */
  readonly wrapped: boolean;
  readonly name?: string;
  /** Where the name came from, or why it is unread. */
  readonly nameFrom: 'mdb' | 'catalog' | 'wrapper-mdb' | 'unread';
  readonly nameNote?: string;
  /** The header names a blessed System folder (finder info word 0): what Open Firmware boots from. */
  readonly blessed: boolean;
}

export interface ApmPartition {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly startBlock: number;
  readonly blockCount: number;
  readonly volume?: HfsVolume;
}

export interface IsoInfo {
  readonly volumeId: string;
  readonly systemId: string;
  readonly elTorito: boolean;
}

export interface OsGuess {
  readonly looksLike?: OsId;
  /** Every catalog OS the name fits (one when looksLike is set; several when ambiguous). */
  readonly candidates: readonly OsId[];
  readonly why: string;
}

export interface MediaReport extends OsGuess {
  readonly path: string;
  readonly verdict: MediaVerdict;
  readonly reason: string;
  readonly size?: number;
  readonly apm?: { readonly blockSize: number; readonly partitions: readonly ApmPartition[] };
  readonly volumes: readonly HfsVolume[];
  readonly iso?: IsoInfo;
  readonly qcow2?: { readonly version: number; readonly virtualSize: number; readonly backingFile: boolean };
  /** Bytes read from the file, all reads together. */
  readonly bytesRead: number;
}

/** Never more than this in one read (an HFS+ B-tree node is at most 32 KiB: hfsplus_raw.h HFSPLUS_NODE_MXSZ). */
const MAX_READ = 32768;
const MAX_APM_ENTRIES = 64;
const MAX_ISO_DESCRIPTORS = 32;

class Reader {
  bytesRead = 0;
  constructor(private readonly fh: FileHandle) {}
  /** Up to len bytes at pos; shorter at the end of the file. */
  async at(pos: number, len: number): Promise<Buffer> {
    if (len > MAX_READ) throw new Error(`media: read of ${len} bytes refused`);
    if (!Number.isSafeInteger(pos) || pos < 0) return Buffer.alloc(0);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, pos);
    this.bytesRead += bytesRead;
    return buf.subarray(0, bytesRead);
  }
}

const ascii = (b: Buffer, from: number, len: number): string =>
  b.subarray(from, from + len).toString('latin1').replace(/\0.*$/s, '').trimEnd();

/** Mac OS Roman 0x80–0xFF (Unicode's MAPPINGS/VENDORS/APPLE/ROMAN.TXT): HFS names are in it. */
const MAC_ROMAN_HIGH =
  'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»…\u00a0ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ';

function macRoman(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : MAC_ROMAN_HIGH[c - 0x80];
  return s;
}

function utf16be(b: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

/**
 * The HFS+ volume name is the key of the root folder's record, whose parent is CNID 1: keys sort by
 * parent first, so it is the first record of the catalog's first leaf node (hfsplus_raw.h:
 * hfsplus_vh.cat_file, hfs_btree_header_rec, hfsplus_cat_key).
 */
async function hfsPlusName(r: Reader, vh: Buffer, volOffset: number): Promise<{ name?: string; note?: string }> {
  const blockSize = vh.readUInt32BE(40);
  if (blockSize < 512 || blockSize % 512 !== 0) return { note: `the volume header gives block size ${blockSize}` };
  // cat_file: hfsplus_fork_raw at 272 (total_size u64, clump u32, total_blocks u32, then 8 extents).
  const extents: Array<[number, number]> = [];
  for (let i = 0; i < 8; i++) {
    const start = vh.readUInt32BE(288 + i * 8);
    const count = vh.readUInt32BE(292 + i * 8);
    if (count === 0) break;
    extents.push([start, count]);
  }
  const byteInFork = (forkPos: number): number | undefined => {
    let block = Math.floor(forkPos / blockSize);
    for (const [start, count] of extents) {
      if (block < count) return volOffset + (start + block) * blockSize + (forkPos % blockSize);
      block -= count;
    }
    return undefined;
  };
  const headerAt = byteInFork(0);
  if (headerAt === undefined) return { note: 'the catalog file has no extents' };
  const header = await r.at(headerAt, 14 + 106);
  if (header.length < 120 || header.readInt8(8) !== 1) return { note: 'the catalog header node is not where the volume header says' };
  const firstLeaf = header.readUInt32BE(14 + 10);
  const nodeSize = header.readUInt16BE(14 + 18);
  if (nodeSize < 512 || nodeSize > MAX_READ || firstLeaf === 0) return { note: 'the catalog has no leaf node to read' };
  const leafAt = byteInFork(firstLeaf * nodeSize);
  if (leafAt === undefined) return { note: 'the first catalog leaf lies beyond the volume header extents (in the overflow file, not read)' };
  const node = await r.at(leafAt, nodeSize);
  if (node.length < nodeSize || node.readInt8(8) !== -1 || node.readUInt16BE(10) === 0) return { note: 'the first catalog leaf node is damaged' };
  const rec = node.readUInt16BE(nodeSize - 2);
  if (rec + 8 > nodeSize) return { note: 'the first catalog record is out of its node' };
  const parent = node.readUInt32BE(rec + 2);
  const len = node.readUInt16BE(rec + 6);
  if (parent !== 1 || rec + 8 + len * 2 > nodeSize) return { note: 'the first catalog record is not the root folder' };
  return { name: utf16be(node.subarray(rec + 8, rec + 8 + len * 2)) };
}

/** An HFS or HFS+ volume at offset, or undefined. Both keep their header 1024 bytes in (hfs.h HFS_MDB_BLK, hfsplus_raw.h HFSPLUS_VOLHEAD_SECTOR). */
async function volumeAt(r: Reader, offset: number, inWrapper = false): Promise<HfsVolume | undefined> {
  const h = await r.at(offset + 1024, 512);
  if (h.length < 512) return undefined;
  const sig = h.toString('latin1', 0, 2);
  if (sig === 'H+' || sig === 'HX') {
    const { name, note } = await hfsPlusName(r, h, offset);
    return {
      kind: sig === 'H+' ? 'hfs+' : 'hfsx',
      offset,
      wrapped: false,
      ...(name !== undefined ? { name, nameFrom: 'catalog' as const } : { nameFrom: 'unread' as const, nameNote: note }),
      blessed: h.readUInt32BE(80) !== 0,
    };
  }
  if (sig !== 'BD') return undefined;
  // struct hfs_mdb (hfs.h): drAlBlkSiz 20, drAlBlSt 28, drVN 36 (Pascal string, 27 chars max),
  // drFndrInfo 92, drEmbedSigWord 124, drEmbedExtent 126 (start, count in allocation blocks).
  const vnLen = Math.min(h[36]!, 27);
  const mdbName = macRoman(h.subarray(37, 37 + vnLen));
  // A wrapper holds HFS+, never another wrapper: a damaged MDB pointing at itself must not loop.
  if (!inWrapper && h.toString('latin1', 124, 126) === 'H+') {
    const embedded = offset + h.readUInt16BE(28) * 512 + h.readUInt16BE(126) * h.readUInt32BE(20);
    const inner = await volumeAt(r, embedded, true);
    if (inner && inner.kind !== 'hfs') {
      return inner.name !== undefined
        ? { ...inner, wrapped: true }
        : { ...inner, wrapped: true, name: mdbName, nameFrom: 'wrapper-mdb', nameNote: inner.nameNote };
    }
  }
  return { kind: 'hfs', offset, wrapped: false, name: mdbName, nameFrom: 'mdb', blessed: h.readUInt32BE(92) !== 0 };
}

/**
 * Apple Partition Map ("Inside Macintosh: Devices", ch. 3; block/partitions/mac.h): block 0 is the
 * driver descriptor ("ER", block size at 2), entry N ("PM") sits at N × block size, with map_count
 * at 4, start_block 8 and block_count 12 (in block-size units), name 16 and type 48 (32 chars each).
 */
async function readApm(r: Reader, block0: Buffer): Promise<MediaReport['apm']> {
  if (block0.length < 512 || block0.toString('latin1', 0, 2) !== 'ER') return undefined;
  const declared = block0.readUInt16BE(2);
  // Look where the descriptor says first, then at the other size xorriso's -apm-block-size makes.
  for (const bs of [...new Set([declared, 512, 2048])].filter((s) => s === 512 || s === 2048)) {
    const first = await r.at(bs, 512);
    if (first.length < 512 || first.toString('latin1', 0, 2) !== 'PM') continue;
    const count = Math.min(first.readUInt32BE(4), MAX_APM_ENTRIES);
    const partitions: ApmPartition[] = [];
    for (let i = 1; i <= count; i++) {
      const e = i === 1 ? first : await r.at(i * bs, 512);
      if (e.length < 512 || e.toString('latin1', 0, 2) !== 'PM') break;
      const type = ascii(e, 48, 32);
      const startBlock = e.readUInt32BE(8);
      const volume = /^Apple_HFSX?$/i.test(type) ? await volumeAt(r, startBlock * bs) : undefined;
      partitions.push({ index: i, name: ascii(e, 16, 32), type, startBlock, blockCount: e.readUInt32BE(12), ...(volume ? { volume } : {}) });
    }
    return { blockSize: bs, partitions };
  }
  return { blockSize: declared, partitions: [] };
}

/**
 * ISO 9660 volume descriptors from sector 16 (include/uapi/linux/iso_fs.h: type 1, "CD001",
 * system_id at 8, volume_id at 40, 32 chars each); a boot record (type 0) whose system id is
 * "EL TORITO SPECIFICATION" marks a PC-bootable disc (El Torito Bootable CD-ROM Format
 * Specification 1.0, section 2.0).
 */
async function readIso(r: Reader): Promise<IsoInfo | undefined> {
  let pvd: Buffer | undefined;
  let elTorito = false;
  for (let i = 0; i < MAX_ISO_DESCRIPTORS; i++) {
    const d = await r.at((16 + i) * 2048, 2048);
    if (d.length < 2048 || d.toString('latin1', 1, 6) !== 'CD001') break;
    const type = d[0]!;
    if (type === 255) break;
    if (type === 1 && !pvd) pvd = d;
    if (type === 0 && ascii(d, 7, 32) === 'EL TORITO SPECIFICATION') elTorito = true;
  }
  return pvd ? { volumeId: ascii(pvd, 40, 32), systemId: ascii(pvd, 8, 32), elTorito } : undefined;
}

/**
 * How a volume name says which OS it is: its version number or codename (as in the catalog's
 * aliases). Keyed by OsId, so a new catalog entry fails the typecheck until it has its pattern.
 */
const DISC_NAMES = {
  os9: /\bmac\s*os\s*9(?:\.\d+)*(?!\d)/i,
  rhapsody: /\brhapsody\b|\bmac\s*os\s*x\s*server\s*1(?:\.\d+)*\b/i,
  '10.0': /\b10\.0(?:\.\d+)?\b|\bcheetah\b/i,
  '10.1': /\b10\.1(?:\.\d+)?\b|\bpuma\b/i,
  '10.2': /\b10\.2(?:\.\d+)?\b|\bjaguar\b/i,
  '10.3': /\b10\.3(?:\.\d+)?\b|\bpanther\b/i,
  '10.4': /\b10\.4(?:\.\d+)?\b|\btiger\b/i,
  '10.5': /\b10\.5(?:\.\d+)?\b|\bleopard\b/i,
} as const satisfies Record<OsId, RegExp>;

/** Which catalog OS a volume name names: "Mac OS 9.2.2" → os9; "Mac OS X Install Disc 1" → any Mac OS X. */
export function guessOs(volumeName: string | undefined): OsGuess {
  const raw = volumeName?.trim();
  if (!raw) return { candidates: [], why: 'the disc does not say (no volume name)' };
  const hits = OS_CATALOG.filter((o) => DISC_NAMES[o.id].test(raw)).map((o) => o.id);
  // The name is the disc's: shown with its control characters visible (ui/escape.ts).
  const name = shown(raw);
  if (hits.length === 1) return { looksLike: hits[0], candidates: hits, why: `the volume name "${name}" says so` };
  if (hits.length > 1) return { candidates: hits, why: `the volume name "${name}" names several versions: ${hits.join(', ')}` };
  if (/\bmac\s*os\s*x\b/i.test(raw)) {
    const osx = OS_CATALOG.filter((o) => o.family === 'osx').map((o) => o.id);
    return { candidates: osx, why: `the volume name "${name}" says Mac OS X but not which version: it could be ${osx.join(', ')}` };
  }
  return { candidates: [], why: `the disc does not say (volume name "${name}")` };
}

const titleOf = (id: OsId): string => OS_CATALOG.find((o) => o.id === id)!.title;

function unreadable(path: string, reason: string, bytesRead = 0): MediaReport {
  return { path, verdict: 'unreadable', reason, volumes: [], candidates: [], why: 'nothing was read', bytesRead };
}

function openError(path: string, err: NodeJS.ErrnoException): MediaReport {
  const why: Record<string, string> = {
    ENOENT: 'there is no such file',
    EACCES: 'permission denied (try as a user who may read it)',
    EPERM: 'permission denied',
    ELOOP: 'it is a symbolic link loop',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'it is a directory, not an image file',
    EIO: 'the device reports an I/O error (a scratched or missing disc?)',
    ENOMEDIUM: 'the drive has no disc in it',
  };
  return unreadable(path, `"${path}" cannot be read: ${why[err.code ?? ''] ?? err.message}`);
}

/** What `path` is, from a few bounded reads. Never throws for a bad path: the report says why. */
export async function inspectMedia(path: string): Promise<MediaReport> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for files and disc devices.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return openError(path, err as NodeJS.ErrnoException);
  }
  const r = new Reader(fh);
  try {
    const st = await fh.stat();
    // A block device is a disc in a drive (/dev/sr0): read it like a file.
    if (!st.isFile() && !st.isBlockDevice()) return unreadable(path, `"${path}" is ${describeFileKind(st)}, not an image file or disc drive`);
    const size = st.isFile() ? st.size : undefined;
    if (size === 0) return { path, verdict: 'unknown', reason: `"${path}" is empty`, size, volumes: [], candidates: [], why: 'nothing to read', bytesRead: 0 };
    return await inspectOpen(path, r, size);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return unreadable(path, `"${path}" could not be read: ${e.code === 'EIO' ? 'an I/O error (a damaged disc or file?)' : e.message}`, r.bytesRead);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function inspectOpen(path: string, r: Reader, size: number | undefined): Promise<MediaReport> {
  const block0 = await r.at(0, 512);
  const base = { path, ...(size !== undefined ? { size } : {}) };
  // qcow2 header (QEMU block/qcow2.h QCowHeader): magic "QFI\xfb", version u32 at 4,
  // backing_file_offset u64 at 8, size u64 at 24.
  if (block0.length >= 32 && block0.readUInt32BE(0) === 0x514649fb) {
    const qcow2 = { version: block0.readUInt32BE(4), virtualSize: Number(block0.readBigUInt64BE(24)), backingFile: block0.readBigUInt64BE(8) !== 0n };
    return {
      ...base,
      verdict: 'guest-disk',
      reason: 'it is a qcow2 disk image (a guest hard disk, not a disc); to look inside, make a raw copy with `qemu-img convert -O raw`',
      qcow2,
      volumes: [],
      candidates: [],
      why: 'a qcow2 image is not read inside',
      bytesRead: r.bytesRead,
    };
  }
  const apm = await readApm(r, block0);
  const volumes: HfsVolume[] = apm ? apm.partitions.flatMap((p) => (p.volume ? [p.volume] : [])) : [];
  if (!apm) {
    const bare = await volumeAt(r, 0);
    if (bare) volumes.push(bare);
  }
  const iso = await readIso(r);
  const named = volumes.find((v) => v.name);
  const guess = guessOs(named?.name ?? iso?.volumeId);
  const found = { ...base, ...(apm ? { apm } : {}), volumes, ...(iso ? { iso } : {}), ...guess, bytesRead: r.bytesRead };
  const kinds = [...new Set(volumes.map((v) => (v.kind === 'hfs' ? 'HFS' : 'HFS+')))].join(' and ');
  if (volumes.length > 0) {
    const where = apm ? `an Apple partition map (${apm.blockSize}-byte blocks) with ${kinds}` : `${kinds === 'HFS' ? 'an HFS' : 'an HFS+'} volume without a partition map`;
    return { ...found, verdict: 'mac-boot-disc', reason: `it has ${where}${iso ? ' (and an ISO 9660 side)' : ''}` };
  }
  if (apm) {
    const types = apm.partitions.map((p) => shown(p.type)).join(', ') || 'no readable entries';
    return { ...found, verdict: 'unknown', reason: `it has an Apple partition map (${types}) but no HFS or HFS+ volume in it` };
  }
  if (iso) {
    const boot = iso.elTorito ? ' with an El Torito boot record (PC BIOS/EFI booting)' : '';
    return { ...found, verdict: 'not-mac', reason: `it is an ISO 9660 disc${boot} without an Apple partition map or HFS volume: a PowerPC Mac cannot boot it` };
  }
  if (size !== undefined && size < 1536) return { ...found, verdict: 'unknown', reason: `it is only ${size} bytes: too small for any disc` };
  return { ...found, verdict: 'not-mac', reason: 'it has no Apple partition map, HFS/HFS+ volume, ISO 9660 descriptor or qcow2 header' };
}

/** One paragraph for people: what the file is, and which Mac OS it looks like. */
export function summarizeMedia(r: MediaReport): string {
  if (r.verdict === 'unreadable') return r.reason + '.';
  // An HFS volume nothing is blessed on is a Mac data disc: Open Firmware finds nothing to boot there.
  const what = r.verdict === 'mac-boot-disc' && !r.volumes.some((v) => v.blessed) ? 'a Mac disc with no blessed System folder (not bootable)' : label[r.verdict];
  const parts = [`${shown(r.path)}: ${what} — ${shown(r.reason)}.`];
  if (r.apm && r.apm.partitions.length > 0) parts.push(`Partitions: ${r.apm.partitions.map((p) => `${p.name ? shown(p.name) : '(unnamed)'} (${shown(p.type)})`).join(', ')}.`);
  for (const v of r.volumes) {
    const kind = v.kind === 'hfs' ? 'HFS' : v.kind === 'hfsx' ? 'HFSX' : 'HFS+';
    const name = v.name !== undefined ? `"${shown(v.name)}"${v.nameFrom === 'wrapper-mdb' ? ' (from its HFS wrapper)' : ''}` : `with its name unread (${v.nameNote})`;
    parts.push(`${kind} volume ${name}${v.blessed ? ', blessed' : ', not blessed (no System folder to boot)'}.`);
  }
  if (r.iso) parts.push(`ISO 9660 volume "${shown(r.iso.volumeId)}"${r.iso.elTorito ? ', El Torito bootable' : ''}.`);
  if (r.verdict !== 'guest-disk') parts.push(r.looksLike ? `It looks like ${titleOf(r.looksLike)}: ${r.why}.` : `Which Mac OS: ${r.why}.`);
  return parts.join(' ');
}

const label: Record<MediaVerdict, string> = {
  'mac-boot-disc': 'a PowerPC Mac boot disc',
  'not-mac': 'not a Mac disc',
  'guest-disk': 'a guest disk image',
  unknown: 'not recognised',
  unreadable: 'unreadable',
};
