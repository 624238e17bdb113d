import { FilesListingSchema } from '../guests/report-schema.js';
import { rmSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { copyOut, entriesUnder, findEntry, normalizeGuestPath } from '../guests/copy-out.js';
import { guestVolume } from '../guests/guest-volume.js';
import { makeRunTempDir, removeLeftovers } from '../guests/leftovers.js';
import { writeGuard } from '../guests/write-guard.js';
import { formatBytes } from '../ui/bytes.js';
import { mkdir } from 'node:fs/promises';
import { listHfs } from '../guests/seven-zip.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import { whileGuestOff } from '../launch/offline.js';
import { writeErrText, writeOut, writeText } from '../ui/output.js';
import { jsonText, shown } from '../ui/escape.js';
import { EXIT } from '../exit-codes.js';

export interface FilesFlags {
  json?: boolean;
  force?: boolean;
  volume?: string;
  tempDir?: string;
}

const err = writeErrText;

async function workDirIn(parent: string): Promise<string> {
  const s = await stat(parent).catch(() => undefined);
  if (!s?.isDirectory()) throw new UserError(`${JSON.stringify(parent)} is not a folder (for the temporary copy of the volume)`);
  const left = await removeLeftovers(parent);
  if (left.length) err(`Removed ${left.length} temporary folder${left.length === 1 ? '' : 's'} an interrupted talos-mac files left: ${left.map((l) => JSON.stringify(l)).join(', ')}\n`);
  try {
    return await makeRunTempDir(parent);
  } catch (e) {
    throw new UserError(`cannot make a temporary folder in ${JSON.stringify(parent)}: ${(e as Error).message}; give another with --temp-dir`, 1);
  }
}

export async function filesCommand(name: string, action: string, args: string[], f: FilesFlags): Promise<number> {
  if (action !== 'ls' && action !== 'get') throw new UserError(`unknown files action ${JSON.stringify(action)}: use ls or get`);
  if (action === 'ls' && args.length > 1) throw new UserError('files NAME ls takes at most one path in the guest');
  if (action === 'get' && args.length !== 2) throw new UserError('files NAME get takes the path in the guest and where to put it: talos-mac files NAME get /Users/me/Documents ~/from-tiger');
  if (f.json && action !== 'ls') throw new UserError('--json goes with ls');
  if (f.force && action !== 'get') throw new UserError('--force goes with get');
  const guestPath = normalizeGuestPath(args[0] ?? '/');
  const store = new GuestStore();
  const g = await store.read(name);
  const host = thisMachine();
  const dest = action === 'get' ? resolve(args[1]!) : undefined;
  let tempParent = f.tempDir !== undefined ? resolve(f.tempDir) : undefined;
  if (tempParent === undefined) {
    if (dest !== undefined) tempParent = (await stat(dest).catch(() => undefined))?.isDirectory() ? dest : dirname(dest);
    else {
      tempParent = join(store.paths.cache, 'volumes');
      await mkdir(tempParent, { recursive: true });
    }
  }
  // Never written over: any guest's disk or CD (--force included), nor the disk being read. DEST
  // now, before the volume is copied; every file copyOut writes once the listing is known.
  const guard = dest !== undefined ? await writeGuard(store, 'write over', { reading: [g.disk] }) : undefined;
  if (dest !== undefined) await guard!.check(dest);
  return whileGuestOff(host, store.paths, g, `read the disk of ${name}`, async () => {
    const work = await workDirIn(tempParent!);
    // Ctrl-C during a long copy: the temporary copy (as big as the volume's data) is removed, not left in DEST.
    const onSignal = (sig: NodeJS.Signals): void => {
      rmSync(work, { recursive: true, force: true });
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const vol = await guestVolume(host, g, work, f.volume, (line) => err(`${line}\n`));
      // Only what this command shows or copies is kept from the volume's listing (HFS+ matches names case-insensitively).
      const want = guestPath.toLowerCase();
      const depth = (p: string): number => (p === '' ? 0 : p.split('/').length);
      const keep = (p: string): boolean => {
        const l = p.toLowerCase();
        if (want !== '' && l !== want && !l.startsWith(`${want}/`)) return false;
        return action === 'get' || depth(l) <= depth(want) + 1;
      };
      const listing = await listHfs(host, vol.image, keep);
      const entry = findEntry(listing, guestPath);
      if (!entry) throw new UserError(`there is no ${shown(JSON.stringify('/' + guestPath))} on the volume "${shown(listing.volume)}" of ${name}`);
      if (action === 'ls') {
        const under = entry.kind === 'dir' ? entriesUnder(listing, entry).filter((e) => e !== entry && !e.path.slice(entry.path.length ? entry.path.length + 1 : 0).includes('/')) : [entry];
        if (f.json) writeOut(jsonText(FilesListingSchema.parse({ guest: name, volume: listing.volume, format: listing.method, path: '/' + entry.path, entries: under.map(({ source: _source, ...e }) => ({ ...e, path: '/' + e.path })) })) + '\n');
        else {
          writeText(`${shown(listing.volume)} (${listing.method}) /${shown(entry.path)}\n`);
          for (const e of under) {
            const tail = e.path.slice(e.path.lastIndexOf('/') + 1);
            const mark = e.kind === 'dir' ? '/' : e.kind === 'link' ? ' (link, not copied)' : e.kind === 'other' ? ' (special, not copied)' : '';
            writeText(`  ${e.kind === 'file' ? String(e.size).padStart(12) : ''.padStart(12)}  ${e.modified ?? ''.padEnd(19)}  ${shown(tail)}${mark}\n`);
          }
        }
        return EXIT.OK;
      }
      const r = await copyOut(host, vol.image, listing, guestPath, dest!, { force: f.force ?? false, scratch: work, guard: guard! });
      writeText(`Copied ${r.files} file${r.files === 1 ? '' : 's'} (${formatBytes(r.bytes)})${r.folders ? ` in ${r.folders} folder${r.folders === 1 ? '' : 's'}` : ''} from ${name}:/${shown(entry.path)} to ${shown(r.target)}.\n`);
      if (r.renamed.length) writeText(`Renamed (the same name as another after Unicode normalisation, which Linux file systems do not do): ${r.renamed.slice(0, 10).map((x) => `${shown(JSON.stringify(x.from))} → ${shown(JSON.stringify(x.to))}`).join(', ')}${r.renamed.length > 10 ? `, and ${r.renamed.length - 10} more` : ''}.\n`);
      if (r.skipped.length) writeText(`Not copied (links and special files): ${r.skipped.slice(0, 10).map(shown).join(', ')}${r.skipped.length > 10 ? `, and ${r.skipped.length - 10} more` : ''}.\n`);
      return EXIT.OK;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await rm(work, { recursive: true, force: true });
    }
  });
}
