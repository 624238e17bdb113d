/**
 * Copying files out of a Mac volume into a folder of this machine: 7-Zip extracts into a private
 * folder beside the destination, and only what the listing says is a file or a folder is moved
 * into place — never over an existing file unless `force`, never outside the destination, never a
 * link (a Mac OS X symlink could point anywhere on this machine).
 */
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, mkdtemp, readdir, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { extractHfs, listedName, type HfsEntry, type HfsListing } from './seven-zip.js';
import type { WriteGuard } from './write-guard.js';

export interface CopyReport {
  readonly target: string;
  readonly files: number;
  readonly folders: number;
  readonly bytes: number;
  /** Links and special files, not copied. */
  readonly skipped: readonly string[];
  /** Names written under another name (the same as another's after Unicode normalisation). */
  readonly renamed: ReadonlyArray<{ readonly from: string; readonly to: string }>;
}

/** "/Users/me/notes.txt", "Users/me/", "/" → the path as the listing has it ("" for the volume). */
export function normalizeGuestPath(p: string): string {
  const parts = p.normalize('NFC').split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new UserError(`the path in the guest ${JSON.stringify(p)} has "..": give it from the volume's top, e.g. /Users/me/Documents`);
  if (p.includes('\0')) throw new UserError('the path in the guest has a NUL character');
  return parts.join('/');
}

/** The entry at `path` (exact, else the only case-insensitive match: HFS+ names are case-insensitive). */
export function findEntry(listing: HfsListing, path: string): HfsEntry | undefined {
  if (path === '') return { path: '', source: listing.source, kind: 'dir', size: 0 };
  const exact = listing.entries.find((e) => e.path === path);
  if (exact) return exact;
  const folded = listing.entries.filter((e) => e.path.toLowerCase() === path.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

export function entriesUnder(listing: HfsListing, entry: HfsEntry): HfsEntry[] {
  if (entry.kind !== 'dir') return [entry];
  const prefix = entry.path === '' ? '' : `${entry.path}/`;
  return [entry, ...listing.entries.filter((e) => e.path !== '' && e.path.startsWith(prefix) && e.path !== entry.path)];
}

const safeComponent = (c: string): boolean => c !== '' && c !== '.' && c !== '..' && !c.includes('/') && !c.includes('\0');

async function exists(p: string): Promise<import('node:fs').Stats | undefined> {
  return lstat(p).catch(() => undefined);
}

/**
 * Where 7-Zip put the item it lists as `source` under `work`: each name as listed, else the one
 * name in its folder whose listed form it is (listedName); undefined when none or several.
 */
async function extractedAs(work: string, source: string): Promise<string | undefined> {
  let at = work;
  for (const part of source.split('/')) {
    const direct = join(at, part);
    if (await exists(direct)) {
      at = direct;
      continue;
    }
    const names = (await readdir(at).catch(() => [] as string[])).filter((n) => n !== part && listedName(n) === part);
    if (names.length !== 1) return undefined;
    at = join(at, names[0]!);
  }
  return at;
}

/**
 * Copies `guestPath` (a file or a folder, with what it holds) from the volume in `image` to `dest`:
 * into it when it is a folder, else as `dest` (like cp). Everything is checked before anything
 * is moved: an existing file in the way refuses the whole copy unless `force`.
 */
export async function copyOut(host: Host, image: string, listing: HfsListing, guestPath: string, dest: string, o: { force: boolean; scratch: string; guard?: WriteGuard }): Promise<CopyReport> {
  const path = normalizeGuestPath(guestPath);
  const entry = findEntry(listing, path);
  if (!entry) {
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    throw new UserError(`there is no ${JSON.stringify('/' + path)} on the volume "${listing.volume}". See what is in ${JSON.stringify('/' + parent)}: talos-mac files NAME ls ${JSON.stringify('/' + parent)}`);
  }
  const destAbs = resolve(dest);
  const destStat = await exists(destAbs);
  const name = entry.path === '' ? listing.volume : basename(entry.path);
  if (!safeComponent(name)) throw new UserError(`the name ${JSON.stringify(name)} cannot be a file name here`, 1);
  let target: string;
  if (destStat?.isDirectory()) target = join(destAbs, name);
  else if (destStat?.isSymbolicLink()) throw new UserError(`${JSON.stringify(dest)} is a symbolic link: give a folder or a new name`);
  else if (destStat && !(destStat.isFile() && o.force && entry.kind === 'file')) {
    throw new UserError(`${JSON.stringify(dest)} already exists: talos-mac does not overwrite it (--force replaces existing files, never folders)`);
  } else {
    const parent = await exists(dirname(destAbs));
    if (!parent?.isDirectory()) throw new UserError(`the folder ${JSON.stringify(dirname(destAbs))} does not exist`);
    target = destAbs;
  }

  const wanted = entriesUnder(listing, entry);
  const skipped = wanted.filter((e) => e.kind === 'link' || e.kind === 'other').map((e) => '/' + e.path);
  const depth = (e: HfsEntry): number => (e.path === '' ? -1 : e.path.split('/').length);
  // Folders before what they hold.
  const copy = wanted.filter((e) => e.kind === 'file' || e.kind === 'dir').sort((a, b) => depth(a) - depth(b));
  // Where each one goes; a name that would leave the target (zip-slip) refuses the copy. Names are
  // NFC (as Linux names are); two names of one folder that are the same in NFC (a volume can hold
  // both forms; Linux file systems do not normalise) are never written over one another: the
  // second gets " (2)" before its extension, and the rename is reported.
  const destOf = new Map<string, string>([[entry.source, '']]);
  const taken = new Set<string>();
  const renamed: Array<{ from: string; to: string }> = [];
  const plan = copy.map((e) => {
    const rel = entry.path === '' ? e.path : e.path.slice(entry.path.length).replace(/^\//, '');
    const comps = rel === '' ? [] : rel.split('/');
    if (!comps.every(safeComponent)) throw new UserError(`the volume has a name that cannot be copied safely: ${JSON.stringify(e.path)}; nothing was copied`, 1);
    let destRel = '';
    if (comps.length > 0) {
      const parent = destOf.get(e.source.slice(0, e.source.lastIndexOf('/'))) ?? comps.slice(0, -1).join('/');
      const name = comps.at(-1)!;
      const key = (n: string): string => (parent === '' ? n : `${parent}/${n}`);
      let n = name;
      for (let i = 2; taken.has(key(n)); i++) {
        const dot = name.lastIndexOf('.');
        n = dot > 0 && e.kind === 'file' ? `${name.slice(0, dot)} (${i})${name.slice(dot)}` : `${name} (${i})`;
      }
      destRel = key(n);
      // As stored (not normalised): the two names differ there.
      if (n !== name) renamed.push({ from: '/' + e.source.slice(e.source.indexOf('/') + 1), to: destRel });
    }
    taken.add(destRel);
    destOf.set(e.source, destRel);
    const to = destRel === '' ? target : join(target, ...destRel.split('/'));
    if (to !== target && !to.startsWith(target + sep)) throw new UserError(`${JSON.stringify(e.path)} would land outside ${JSON.stringify(target)}; nothing was copied`, 1);
    return { e, to };
  });
  if (o.guard) for (const { to } of plan) await o.guard.check(to);
  const inTheWay: string[] = [];
  for (const { e, to } of plan) {
    const s = await exists(to);
    if (!s) continue;
    if (e.kind === 'dir' && s.isDirectory()) continue;
    if (e.kind === 'file' && s.isFile() && o.force) continue;
    inTheWay.push(to);
  }
  if (inTheWay.length > 0) {
    const few = inTheWay.slice(0, 5).map((p) => JSON.stringify(p)).join(', ');
    throw new UserError(`${inTheWay.length} path${inTheWay.length > 1 ? 's' : ''} already exist${inTheWay.length > 1 ? '' : 's'}: ${few}${inTheWay.length > 5 ? ', …' : ''}. Nothing was copied; talos-mac never overwrites (--force replaces existing files, never folders or links).`);
  }

  // In the caller's scratch folder (by default beside the target, on its file system): a file is
  // moved into place with link(2), which never replaces; across file systems it is copied with COPYFILE_EXCL.
  const work = await mkdtemp(join(o.scratch, 'extract-'));
  try {
    await extractHfs(host, image, work, [entry.source]);
    // A name 7-Zip lists with "_" for a control character is asked for again with "?" there (a
    // wildcard: -spd off); what arrives is matched back by its listed name.
    const missing = [];
    for (const { e } of plan) if (e.kind === 'file' && e.source.includes('_') && !(await extractedAs(work, e.source))) missing.push(e.source.replaceAll('_', '?'));
    if (missing.length > 0) await extractHfs(host, image, work, missing, { wildcards: true });
    let files = 0;
    let folders = 0;
    let bytes = 0;
    for (const { e, to } of plan) {
      const from = (await extractedAs(work, e.source)) ?? join(work, ...e.source.split('/'));
      if (e.kind === 'dir') {
        if (!(await exists(to))) await mkdir(to);
        folders++;
        continue;
      }
      const s = await exists(from);
      if (!s?.isFile()) throw new UserError(`7-Zip did not extract ${JSON.stringify('/' + e.path)}; what was copied so far stays in ${JSON.stringify(target)}`, 1);
      const replace = o.force && (await exists(to))?.isFile() === true;
      await (replace ? rename(from, to) : link(from, to).then(() => unlink(from))).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw new UserError(`${JSON.stringify(to)} appeared while copying and was left alone; what was copied before it stays in ${JSON.stringify(target)}`, 1);
        if (err.code !== 'EXDEV') throw err;
        await copyFile(from, to, replace ? 0 : constants.COPYFILE_EXCL);
      });
      files++;
      bytes += s.size;
    }
    return { target, files, folders, bytes, skipped, renamed };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
