/**
 * `talos-mac media check`: inspectMedia (media.ts) for what the file is, plus what only reading
 * the volume tells — Mac OS X's SystemVersion.plist (read with 7-Zip) — and, for a qcow2 image,
 * what its first MiB holds (copied out with `qemu-img dd`, never written).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../host/host.js';
import { imageProblem } from '../host/file-kind.js';
import { OS_CATALOG, type OsId } from './catalog.js';
import { inspectMedia, type MediaReport } from './media.js';
import { IN_PLACE_LIMIT } from './guest-volume.js';
import { formatBytes } from '../ui/bytes.js';
import { shown } from '../ui/escape.js';
import { readHfsFile, SEVEN_ZIP_PROGRAMS } from './seven-zip.js';
import { UserError } from '../errors.js';

export const SYSTEM_VERSION_PLIST = 'System/Library/CoreServices/SystemVersion.plist';

export interface SystemVersion {
  readonly productName?: string;
  readonly productVersion?: string;
  readonly build?: string;
}

export interface MediaCheck {
  readonly report: MediaReport;
  /** A blessed HFS/HFS+ volume: Open Firmware can boot it. */
  readonly bootable: boolean;
  /** For a qcow2 image: what its first MiB holds. */
  readonly inside?: MediaReport;
  readonly system?: SystemVersion;
  /** Why the system version is not given. */
  readonly systemNote?: string;
  readonly looksLike?: OsId;
  readonly why: string;
}

/** `<key>ProductVersion</key><string>10.4</string>` and its neighbours, from an XML property list. */
export function parseSystemVersion(xml: string): SystemVersion {
  const get = (key: string): string | undefined => new RegExp(`<key>${key}</key>\\s*<string>([^<]*)</string>`).exec(xml)?.[1]?.trim();
  const productName = get('ProductName');
  const productVersion = get('ProductVersion');
  const build = get('ProductBuildVersion');
  return { ...(productName ? { productName } : {}), ...(productVersion ? { productVersion } : {}), ...(build ? { build } : {}) };
}

/** "10.4.11" → 10.4; versions the catalog does not have → undefined. */
export function osForVersion(v: string | undefined): OsId | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v ?? '');
  if (!m) return undefined;
  const id = `${m[1]}.${m[2]}`;
  return OS_CATALOG.find((o) => o.id === id)?.id;
}

async function qcow2Head(host: Host, path: string): Promise<MediaReport | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'talos-mac-media-'));
  try {
    const head = join(dir, 'head.raw');
    const r = await host.run(['qemu-img', 'dd', '-f', 'qcow2', '-O', 'raw', 'bs=65536', 'count=16', `if=${path}`, `of=${head}`], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) return undefined;
    return { ...(await inspectMedia(head)), path };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const blessed = (r: MediaReport): boolean => r.volumes.some((v) => v.blessed);

/** What a disc is, as far as booting a PowerPC Mac from it goes: media check's verdict, and every door's. */
export type DiscKind = 'bootable' | 'data-disc' | 'hard-disk' | 'not-mac' | 'unreadable';

export function discKind(c: Pick<MediaCheck, 'report' | 'bootable' | 'inside'>): DiscKind {
  if (c.report.verdict === 'unreadable') return 'unreadable';
  if (c.report.verdict === 'guest-disk') return 'hard-disk';
  if (c.bootable) return 'bootable';
  return c.report.verdict === 'mac-boot-disc' ? 'data-disc' : 'not-mac';
}

/** The verdict in words, for a disc in the CD drive (a qcow2 image there is read as raw bytes: argv.ts format=raw). */
export function discVerdict(c: Pick<MediaCheck, 'report' | 'bootable' | 'inside'>): string {
  switch (discKind(c)) {
    case 'bootable':
      return 'a PowerPC Mac boot disc';
    case 'data-disc':
      return 'not a PowerPC Mac boot disc: a Mac volume with no blessed System folder (a data disc, or a disk Mac OS is not installed on)';
    case 'hard-disk':
      return 'not a PowerPC Mac boot disc: a qcow2 disk image (a guest hard disk, for create --disk; the CD drive reads it as raw bytes)';
    case 'not-mac':
      return 'not a PowerPC Mac boot disc';
    case 'unreadable':
      return c.report.reason;
  }
}


export interface AdmittedDisc {
  readonly check: MediaCheck;
  /** Said when --force let in a disc that is not a PowerPC Mac boot disc. */
  readonly warning?: string;
}

/**
 * The door every disc passes (create, setup, launch, set): the disc `media check` calls bootable,
 * else a refusal with its verdict, unless the person insists with --force. An unreadable file is
 * refused even then: QEMU could not read it either.
 */
export async function admitDisc(
  host: Host,
  path: string,
  /** ask: on a terminal, whether to use it anyway (told why first); the answer counts as --force. */
  o: { flag: string; force?: boolean | undefined; ask?: ((why: string) => Promise<boolean>) | undefined; instead?: string },
): Promise<AdmittedDisc> {
  const check = await checkBootable(host, path);
  const kind = discKind(check);
  if (kind === 'bootable') return { check };
  if (kind === 'unreadable') throw new UserError(`${o.flag} ${check.report.reason}. Nothing was changed.`);
  const about = `${shown(path)}: ${discVerdict(check)} — ${shown(check.report.reason)}`;
  if (o.force) return { check, warning: `${o.flag} ${shown(path)}: ${discVerdict(check)}; used anyway (--force).` };
  if (o.ask && (await o.ask(about))) return { check, warning: `${o.flag} ${shown(path)}: ${discVerdict(check)}; used anyway (you said so).` };
  throw new UserError(`${o.flag} ${about} (talos-mac media check says the same). ${o.instead ? `${o.instead} ` : ''}To use it anyway, add --force. Nothing was changed.`);
}

/**
 * Whether a PowerPC Mac boots it (a blessed HFS/HFS+ volume; for a qcow2 image, in its first MiB):
 * a few bounded reads, no 7-Zip. media check's verdict and every door's (admitDisc).
 */
export async function checkBootable(host: Host, path: string): Promise<MediaCheck> {
  const report = await inspectMedia(path);
  if (report.verdict === 'unreadable') return { report, bootable: false, why: report.reason };
  if (report.verdict === 'guest-disk') {
    // qemu-img dd reads through the backing chain: a FIFO or device down it would hang it.
    const problem = await imageProblem(path, { host, format: 'qcow2' });
    if (problem) {
      const reason = `"${shown(path)}" ${problem}`;
      return { report: { ...report, verdict: 'unreadable', reason }, bootable: false, why: reason };
    }
    const inside = await qcow2Head(host, path);
    const bootable = inside !== undefined && inside.verdict === 'mac-boot-disc' && blessed(inside);
    return {
      report,
      bootable,
      ...(inside ? { inside } : {}),
      ...(inside?.looksLike ? { looksLike: inside.looksLike } : {}),
      systemNote: 'not read from a qcow2 image (qemu-img convert -O raw makes a raw copy it can be read from)',
      why: inside ? inside.why : 'its start could not be read',
    };
  }
  return { report, bootable: report.verdict === 'mac-boot-disc' && blessed(report), ...(report.looksLike ? { looksLike: report.looksLike } : {}), why: report.why };
}

/** checkBootable, plus the system version a Mac OS X volume's SystemVersion.plist gives (7-Zip). */
export async function checkMedia(host: Host, path: string): Promise<MediaCheck> {
  const c = await checkBootable(host, path);
  const { report, bootable } = c;
  if (report.verdict === 'unreadable' || report.verdict === 'guest-disk') return c;
  const hfsPlus = report.volumes.find((v) => v.kind !== 'hfs');
  if (!hfsPlus) {
    const systemNote = report.volumes.length > 0 ? 'a classic HFS volume (Mac OS 9 and earlier) keeps its version in the System file\'s resource fork, which is not read' : 'no Mac volume to read it from';
    return { report, bootable, ...(report.looksLike ? { looksLike: report.looksLike } : {}), systemNote, why: report.why };
  }
  if (hfsPlus.offset > IN_PLACE_LIMIT) {
    const systemNote = `not read: the volume starts ${formatBytes(hfsPlus.offset)} into the file, beyond where 7-Zip looks for it`;
    return { report, bootable, ...(report.looksLike ? { looksLike: report.looksLike } : {}), systemNote, why: report.why };
  }
  let xml: Buffer | undefined;
  try {
    const names = hfsPlus.name !== undefined ? [`${hfsPlus.name}/${SYSTEM_VERSION_PLIST}`] : [];
    for (const n of names) xml ??= await readHfsFile(host, path, n);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { report, bootable, ...(report.looksLike ? { looksLike: report.looksLike } : {}), systemNote: `not read: ${SEVEN_ZIP_PROGRAMS.join('/')} (7-Zip) is not installed`, why: report.why };
  }
  const system = xml ? parseSystemVersion(xml.toString('utf8')) : undefined;
  if (!system?.productVersion) {
    return { report, bootable, ...(report.looksLike ? { looksLike: report.looksLike } : {}), systemNote: `the volume has no /${SYSTEM_VERSION_PLIST}`, why: report.why };
  }
  const byVersion = osForVersion(system.productVersion);
  const looksLike = byVersion ?? report.looksLike;
  const said = (s: string): string => shown(s);
  const why = byVersion
    ? `its /${SYSTEM_VERSION_PLIST} says ${said(system.productName ?? 'Mac OS X')} ${said(system.productVersion)}${system.build ? ` (${said(system.build)})` : ''}`
    : `its /${SYSTEM_VERSION_PLIST} says ${said(system.productVersion)}, which is no OS the catalog knows; ${report.why}`;
  return { report, bootable, system, ...(looksLike ? { looksLike } : {}), why };
}
