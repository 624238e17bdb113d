/**
 * A folder of this machine as a read-only CD for the guest: an HFS+ volume with an Apple
 * partition map (2048-byte blocks, as on a Mac CD), built by xorriso like the demo disc
 * (src/demo/image.ts), with an ISO 9660 side for guests that read only that.
 */
import { lstat, mkdir, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import type { GuestPaths } from './paths.js';

export const shareImageFile = (p: GuestPaths, name: string): string => join(p.disks, `${name}-share.iso`);

/** ISO 9660 (level 1–2, what xorriso writes without -iso-level 3) keeps a file's size in 32 bits. */
export const MAX_FILE_BYTES = 2 ** 32 - 1;
/** Finder names in Mac OS 9 are at most 31 characters; longer HFS+ names show shortened (mangled). */
const OS9_NAME = 31;
/** HFS volume names (Inside Macintosh: Files, the MDB's drVN) are at most 27 characters. */
export const MAX_LABEL = 27;

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
}

/**
 * Walks `dir` and refuses, before anything is built, what cannot go on the CD as it is: special
 * files (devices, FIFOs, sockets), links leading out of the folder or to a folder (a loop, or the
 * same files twice), dangling links, files over 4 GiB, names with control characters.
 */
export async function scanShareDir(dir: string): Promise<ShareScan> {
  const root = await realpath(dir).catch(() => undefined);
  if (!root || !(await stat(root)).isDirectory()) throw new UserError(`${JSON.stringify(dir)} is not a folder`);
  const problems: string[] = [];
  const longNames: string[] = [];
  let files = 0;
  let folders = 0;
  let bytes = 0;
  let links = 0;
  const inside = (p: string): boolean => p === root || p.startsWith(root + sep);
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const rel = relative(root, p);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(name)) problems.push(`${JSON.stringify(rel)}: a name with a control character`);
      if ([...name].length > OS9_NAME) longNames.push(rel);
      let st = await lstat(p);
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
        if (st.size > MAX_FILE_BYTES) problems.push(`${JSON.stringify(rel)}: ${st.size} bytes; a file on the CD can be at most 4 GiB − 1`);
      } else problems.push(`${JSON.stringify(rel)}: a special file (device, FIFO or socket), which a CD cannot hold`);
    }
  };
  await walk(root);
  if (problems.length) {
    throw new UserError(`cannot share ${JSON.stringify(dir)}: ${problems.length} thing${problems.length > 1 ? 's' : ''} in it cannot go on the CD:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ''}\nMove them out (or copy a link's target in), then share again. Nothing was changed.`);
  }
  return { root, files, folders, bytes, links, longNames };
}

/** The CD's volume name: what the guest's desktop shows. */
export function shareLabel(dir: string, label?: string): string {
  const l = (label ?? basename(dir)).trim();
  if (label !== undefined && (l === '' || [...l].length > MAX_LABEL || /[:\u0000-\u001f]/.test(l))) {
    throw new UserError(`--label ${JSON.stringify(label)}: 1 to ${MAX_LABEL} characters, no ":" (the Mac path separator) and no control characters`);
  }
  const fallback = [...l.replace(/[:\u0000-\u001f]/g, '_')].slice(0, MAX_LABEL).join('');
  return fallback || 'Shared';
}

/**
 * Builds the image for `dir` and puts it at `image` atomically (a temp file beside it, then
 * rename): a guest running from the old image keeps reading the old file.
 */
export async function buildShareImage(host: Host, dir: string, image: string, label: string): Promise<number> {
  const tmp = join(dirname(image), `.${basename(image)}.${process.pid}.tmp`);
  await mkdir(dirname(image), { recursive: true });
  await unlink(tmp).catch(() => undefined);
  // -f: a link (checked by scanShareDir: to a file inside the folder) is stored as its file's content.
  // `dir` is absolute (never read as an option); xorriso's "--" would end the mkisofs emulation, not the options.
  const argv = ['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-joliet-long', '-f', '-hfsplus', '-apm-block-size', '2048', '-V', label, '-o', tmp, dir];
  const r = await host.run(argv, { timeoutMs: 60 * 60_000, utf8Locale: true });
  if (r.exitCode !== 0) {
    await rm(tmp, { force: true });
    const hint = r.notFound ? ' Install it: sudo apt-get install xorriso.' : '';
    // xorriso's first stderr line is its banner; its reasons are the FAILURE/SORRY lines.
    const why = r.stderr.split('\n').filter((l) => /FAILURE|SORRY|FATAL/.test(l)).slice(0, 3).join('; ');
    throw new UserError(`could not build the shared CD with xorriso: ${why || describeCommandFailure(r)}.${hint}`, 1);
  }
  await rename(tmp, image);
  return (await stat(image)).size;
}
