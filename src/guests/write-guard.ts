/**
 * One guard for every file talos-mac creates, replaces, links over or deletes (`files get`,
 * `share`, `share --off`, `screenshot`, `rm --delete-disk`): the path must not be any guest's disk,
 * CD or shared image — as every definition names it (read raw, so a definition that no longer
 * parses still protects its files) or as the disk-ownership record knows it — nor a file this
 * command reads. Compared after realpath and by device and inode (a hard link is the same file).
 * `--force` never reaches past it: it replaces a file of the person's, never a guest's.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { UserError } from '../errors.js';
import { createdDisks } from './owned-disks.js';
import type { GuestStore } from './store.js';

export type GuestFileRole = 'disk' | 'cdrom' | 'share';

export interface GuestFile {
  readonly path: string;
  readonly guest: string;
  readonly role: GuestFileRole;
  /** A disk talos-mac created for a guest since removed without --delete-disk (kept: still someone's data). */
  readonly orphan?: true;
}

interface Known extends GuestFile {
  readonly real: string;
  readonly id?: string;
}

/** `p` after realpath; a path that does not exist (yet) as its folder's realpath plus its name. */
async function resolved(p: string): Promise<string> {
  const real = await realpath(p).catch(() => undefined);
  if (real !== undefined) return real;
  const dir = await realpath(dirname(p)).catch(() => dirname(p));
  return join(dir, basename(p));
}

/** dev:ino of what `p` is (following links), or undefined when it does not exist. */
async function identity(p: string): Promise<string | undefined> {
  const st = await stat(p).catch(() => undefined);
  return st ? `${st.dev}:${st.ino}` : undefined;
}

/** Every file a guest uses: definitions' disk, cdrom and share, and the disks talos-mac created. */
export async function guestFiles(store: GuestStore): Promise<GuestFile[]> {
  const out: GuestFile[] = [];
  const names = await store.names();
  for (const name of names) {
    const f = await store.rawFiles(name);
    for (const role of ['disk', 'cdrom', 'share'] as const) {
      const p = f[role];
      if (p !== undefined) out.push({ path: p, guest: name, role });
    }
  }
  for (const r of await createdDisks(store.paths)) out.push({ path: r.path, guest: r.guest, role: 'disk', ...(names.includes(r.guest) ? {} : { orphan: true as const }) });
  return out;
}

const ROLE: Record<GuestFileRole, string> = { disk: 'disk', cdrom: 'CD (cdrom)', share: 'shared-folder CD image' };

export interface WriteGuard {
  /** Throws (exit 2, nothing changed) when `target` is a guest's file or one being read. */
  check(target: string): Promise<void>;
}

/**
 * The guard for one command. `action` says what it was about to do ("replace", "delete", …);
 * `mine` is the one file this command may replace (the guest's own share image for `share`);
 * `reading` are the files it reads (never written over while read).
 */
export async function writeGuard(
  store: GuestStore,
  action: string,
  /** orphansAreMine: a kept disk of a removed guest may go (rm --delete-disk of a guest that adopted it). */
  o: { mine?: { guest: string; role: GuestFileRole }; orphansAreMine?: boolean; reading?: readonly string[] } = {},
): Promise<WriteGuard> {
  const known: Known[] = [];
  const add = async (f: GuestFile): Promise<void> => {
    const id = await identity(f.path);
    known.push({ ...f, real: await resolved(f.path), ...(id ? { id } : {}) });
  };
  for (const f of await guestFiles(store)) {
    if (o.mine && f.guest === o.mine.guest && f.role === o.mine.role) continue;
    if (o.orphansAreMine && f.orphan) continue;
    await add(f);
  }
  const reads: Known[] = [];
  for (const p of o.reading ?? []) {
    const id = await identity(p);
    reads.push({ path: p, guest: '', role: 'disk', real: await resolved(p), ...(id ? { id } : {}) });
  }
  return {
    async check(target: string): Promise<void> {
      // A link at the target counts as what it leads to: refusing it costs nothing, and a writer that followed it would write there.
      const real = await resolved(target);
      const id = await identity(target);
      const hit = (k: Known): boolean => k.real === real || (k.id !== undefined && k.id === id);
      const q = JSON.stringify;
      const how = (k: Known): string => (k.real === real ? '' : ` (the same file as ${q(k.path)})`);
      const read = reads.find(hit);
      if (read) throw new UserError(`will not ${action} ${q(target)}: it is the file being read${how(read)}. Give another destination. Nothing was changed.`);
      const users = known.filter(hit);
      if (users.length === 0) return;
      const who = [...new Set(users.map((u) => (u.orphan ? `the disk talos-mac created for ${q(u.guest)} (removed; its disk was kept)` : `the ${ROLE[u.role]} of ${q(u.guest)}`)))].join(', ');
      throw new UserError(
        `will not ${action} ${q(target)}: it is ${o.mine ? 'also ' : ''}${who}${how(users[0]!)}. talos-mac never replaces or deletes a guest's disk or CD (--force included). Nothing was changed.`,
      );
    },
  };
}

/**
 * The guests' files inside `folder` (after links): a folder shared read-write with a guest must hold
 * none, or that guest could write another guest's disk (or its own) while it is in use.
 */
export async function guestFilesInside(store: GuestStore, folder: string): Promise<GuestFile[]> {
  const root = await resolved(folder);
  const inside: GuestFile[] = [];
  for (const f of await guestFiles(store)) {
    const real = await resolved(f.path);
    if (real === root || real.startsWith(root.endsWith(sep) ? root : root + sep)) inside.push(f);
  }
  return inside;
}
