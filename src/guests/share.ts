/**
 * A folder of this machine as a read-only CD for the guest: an HFS+ volume with an Apple
 * partition map (2048-byte blocks, as on a Mac CD), built by xorriso like the demo disc
 * (src/demo/image.ts), with an ISO 9660 side for guests that read only that.
 */
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { distroOfHost, installAdvice } from '../distro/distro.js';
import type { GuestPaths } from './paths.js';
import type { WriteGuard } from './write-guard.js';
import { removeStaleTemps, tempPathBeside } from '../privileged/atomic-file.js';

export const shareImageFile = (p: GuestPaths, name: string): string => join(p.disks, `${name}-share.iso`);

/** ISO 9660 (level 1–2, what xorriso writes without -iso-level 3) keeps a file's size in 32 bits. */
export const MAX_FILE_BYTES = 2 ** 32 - 1;
/** Finder names in Mac OS 9 are at most 31 characters; longer HFS+ names show shortened (mangled). */
const OS9_NAME = 31;
/** HFS volume names (Inside Macintosh: Files, the MDB's drVN) are at most 27 characters. */
export const MAX_LABEL = 27;
/**
 * The ISO 9660 volume identifier is 32 bytes (ECMA-119 8.4.6); xorriso counts the UTF-8 bytes of
 * -V and refuses more ("-volid: Text too long (39 > 32)", xorriso 1.5.4).
 */
export const MAX_LABEL_BYTES = 32;

export interface ShareScan {
  /** The folder, after realpath: what the image is built from. */
  readonly root: string;
  readonly files: number;
  readonly folders: number;
  readonly bytes: number;
  /** Links to files inside the folder: their content is copied (xorriso -f). */
  readonly links: number;
  /** Names Mac OS 9 shows shortened. */
  readonly longNames: readonly string[];
  /** Every file's size and times as scanned: what the CD is built from, compared again after the build. */
  readonly state: ReadonlyMap<string, string>;
}

const fileState = (st: import('node:fs').Stats): string => `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
const why = (e: unknown): string => ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM' ? 'permission denied' : ((e as NodeJS.ErrnoException).code ?? (e as Error).message));

/**
 * Walks `dir` and refuses, before anything is built, what cannot go on the CD as it is: special
 * files (devices, FIFOs, sockets), links leading out of the folder or to a folder (a loop, or the
 * same files twice), dangling links, files over 4 GiB, names with control characters.
 */
export async function scanShareDir(dir: string): Promise<ShareScan> {
  if (dir === '') throw new UserError('the folder to share is empty (""): give a folder, e.g. talos-mac share NAME ~/for-the-mac');
  const root = await realpath(dir).catch(() => undefined);
  if (!root || !(await stat(root)).isDirectory()) throw new UserError(`${JSON.stringify(dir)} is not a folder`);
  const problems: string[] = [];
  const longNames: string[] = [];
  let files = 0;
  let folders = 0;
  let bytes = 0;
  let links = 0;
  const state = new Map<string, string>();
  const inside = (p: string): boolean => p === root || p.startsWith(root + sep);
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(d)).sort();
    } catch (e) {
      problems.push(`${JSON.stringify(relative(root, d) || '.')}: a folder that cannot be read (${why(e)})`);
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      const rel = relative(root, p);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(name)) problems.push(`${JSON.stringify(rel)}: a name with a control character`);
      if ([...name].length > OS9_NAME) longNames.push(rel);
      let st;
      try {
        st = await lstat(p);
      } catch (e) {
        problems.push(`${JSON.stringify(rel)}: cannot be examined (${why(e)})`);
        continue;
      }
      if (st.isSymbolicLink()) {
        const to = await realpath(p).catch(() => undefined);
        if (to === undefined) {
          problems.push(`${JSON.stringify(rel)}: a link to nothing`);
          continue;
        }
        if (!inside(to)) {
          problems.push(`${JSON.stringify(rel)}: a link out of the folder (to ${to})`);
          continue;
        }
        st = await stat(to);
        if (!st.isFile()) {
          problems.push(`${JSON.stringify(rel)}: a link to a folder or special file (copy or move it in instead)`);
          continue;
        }
        links++;
      }
      if (st.isDirectory()) {
        folders++;
        await walk(p);
      } else if (st.isFile()) {
        files++;
        bytes += st.size;
        state.set(rel, fileState(st));
        const readable = await access(p, constants.R_OK).then(() => undefined, (e: unknown) => why(e));
        if (readable) problems.push(`${JSON.stringify(rel)}: a file that cannot be read (${readable})`);
        if (st.size > MAX_FILE_BYTES) problems.push(`${JSON.stringify(rel)}: ${st.size} bytes; a file on the CD can be at most 4 GiB − 1`);
      } else problems.push(`${JSON.stringify(rel)}: a special file (device, FIFO or socket), which a CD cannot hold`);
    }
  };
  await walk(root);
  if (problems.length) {
    throw new UserError(`cannot share ${JSON.stringify(dir)}: ${problems.length} thing${problems.length > 1 ? 's' : ''} in it cannot go on the CD:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ''}\nMove them out (or copy a link's target in), then share again. Nothing was changed.`);
  }
  return { root, files, folders, bytes, links, longNames, state };
}

/** The files whose size or times differ from the scan's (changed, added or removed since). */
export async function changedSince(scan: ShareScan): Promise<string[]> {
  const now = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const st = await stat(p).catch(() => undefined);
      if (st?.isDirectory()) {
        if ((await lstat(p)).isDirectory()) await walk(p);
      } else if (st?.isFile()) now.set(relative(scan.root, p), fileState(st));
    }
  };
  await walk(scan.root);
  const changed = new Set<string>();
  for (const [rel, s] of scan.state) if (now.get(rel) !== s) changed.add(rel);
  for (const rel of now.keys()) if (!scan.state.has(rel)) changed.add(rel);
  return [...changed].sort();
}

const fits = (l: string): boolean => [...l].length <= MAX_LABEL && Buffer.byteLength(l) <= MAX_LABEL_BYTES;

/**
 * The CD's volume name: what the guest's desktop shows. --label is taken as given or refused with
 * the rule; the folder's name is shortened (whole characters) until it fits.
 */
export function shareLabel(dir: string, label?: string): string {
  const l = (label ?? basename(dir)).trim();
  // eslint-disable-next-line no-control-regex
  if (label !== undefined && (l === '' || !fits(l) || /[:\u0000-\u001f\u007f]/.test(l) || l.startsWith('-'))) {
    throw new UserError(
      `--label ${JSON.stringify(label)}: 1 to ${MAX_LABEL} characters and at most ${MAX_LABEL_BYTES} bytes in UTF-8 (the ISO 9660 volume name; ${JSON.stringify(l)} is ${[...l].length} characters, ${Buffer.byteLength(l)} bytes), not starting with "-", no ":" (the Mac path separator) and no control characters. Nothing was changed.`,
    );
  }
  // eslint-disable-next-line no-control-regex
  const chars = [...l.replace(/[:\u0000-\u001f\u007f]/g, '_').replace(/^-+/, (m) => '_'.repeat(m.length))];
  while (chars.length > 0 && !fits(chars.join(''))) chars.pop();
  return chars.join('').trim() || 'Shared';
}

/**
 * Builds the image of the scanned folder and puts it at `image` atomically (a temp file beside it,
 * then rename): a guest running from the old image keeps reading the old file. The folder is
 * compared with its scan afterwards: a file changed meanwhile would be on the CD half old, half
 * new (or make xorriso fail), so the image is thrown away and the file named.
 */
export async function buildShareImage(host: Host, scan: ShareScan, image: string, label: string, guard: WriteGuard): Promise<number> {
  const tmp = tempPathBeside(image);
  await mkdir(dirname(image), { recursive: true });
  await guard.check(image);
  await guard.check(tmp);
  // A build killed before its rename left its temporary image (as big as the folder).
  await removeStaleTemps(image);
  // -f: a link (checked by scanShareDir: to a file inside the folder) is stored as its file's content.
  // The folder is absolute (never read as an option); xorriso's "--" would end the mkisofs emulation, not the options.
  const argv = ['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-joliet-long', '-f', '-hfsplus', '-apm-block-size', '2048', '-V', label, '-o', tmp, scan.root];
  const r = await host.run(argv, { timeoutMs: 60 * 60_000, utf8Locale: true });
  const changed = r.notFound ? [] : await changedSince(scan);
  if (r.exitCode !== 0 || changed.length > 0) {
    await rm(tmp, { force: true });
    if (changed.length > 0) {
      const few = changed.slice(0, 5).map((c) => JSON.stringify(c)).join(', ');
      throw new UserError(`${changed.length === 1 ? 'a file' : `${changed.length} files`} in ${JSON.stringify(scan.root)} changed while the CD was built: ${few}${changed.length > 5 ? ', …' : ''}. Nothing was changed (the CD is as it was); share again when the folder is settled.`, 1);
    }
    const d = r.notFound ? await distroOfHost(host) : undefined;
    const hint = d ? ` ${installAdvice(d, d.names.xorriso, 'xorriso')}.` : '';
    // xorriso's first stderr line is its banner; its reasons are the FAILURE/SORRY lines.
    const reason = r.stderr.split('\n').filter((l) => /FAILURE|SORRY|FATAL/.test(l)).slice(0, 3).join('; ');
    throw new UserError(`could not build the shared CD with xorriso: ${reason || describeCommandFailure(r)}.${hint}`, 1);
  }
  await rename(tmp, image);
  return (await stat(image)).size;
}
