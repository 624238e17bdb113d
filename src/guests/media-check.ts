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

export async function checkMedia(host: Host, path: string): Promise<MediaCheck> {
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
  const bootable = report.verdict === 'mac-boot-disc' && blessed(report);
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
