import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { describeFileKind } from '../host/file-kind.js';
import { PACKAGE_MANAGERS } from '../distro/package-manager.js';
import { shellLine } from '../ui/shell-quote.js';
import { KERNEL_RELEASE, moduleInstallDir, PACKAGE_NAME, type Change } from './record.js';
import type { PrivilegedRunner } from './runner.js';
import { sha256 } from './sha256.js';

/**
 * The shared half of `setup --undo`: a step says how a change its apply recorded is reverted (its
 * `undo`, built from the pieces below), and these pieces keep the promises every revert keeps
 * (docs/safety.md): never follow a link, never open a FIFO or a device, remove a file only while it
 * holds the bytes talos-mac wrote, run only commands of the shapes setup records.
 */

/** What reverting one change came to: undefined (reverted), a note (left alone, and why; the record forgets it), or kept (stays in the record for a later undo). */
export type Reverted = string | Kept | undefined;

/** A change left in the record for a later `setup --undo`, and why. */
export interface Kept {
  keep: string;
}

/** How one recorded change is reverted. */
export type Revert = (runner: PrivilegedRunner) => Promise<Reverted>;

/**
 * How a step reverts a change its apply recorded: the revert, or undefined for a record its apply
 * never makes. A record is a file on disk (with --root, perhaps another system's): undo leaves a
 * change no step claims alone, so a record cannot make talos-mac run or remove anything else.
 */
export type Undo = (change: Change) => Revert | undefined;

/** The first of these that claims the change. */
export const anyOf =
  (...undos: Undo[]): Undo =>
  (c) => {
    for (const u of undos) {
      const r = u(c);
      if (r) return r;
    }
    return undefined;
  };

/** What is at `hostPath` itself: its directories resolved inside the root (runner.local), the last component never followed. */
export type Entry = { kind: 'missing' } | { kind: 'file'; dev: number; ino: number } | { kind: 'link'; target: string } | { kind: 'other'; what: string };

export async function entryAt(runner: PrivilegedRunner, hostPath: string): Promise<Entry> {
  const local = join(runner.local(posix.dirname(hostPath)), posix.basename(hostPath));
  const st = await lstat(local).catch(() => undefined);
  if (!st) return { kind: 'missing' };
  if (st.isSymbolicLink()) return { kind: 'link', target: await readlink(local).catch(() => '?') };
  if (!st.isFile()) return { kind: 'other', what: describeFileKind(st) };
  return { kind: 'file', dev: st.dev, ino: st.ino };
}

/**
 * The bytes of the regular file at `hostPath` when undo may act on it, or why it is left alone:
 * undo never follows a link to delete or restore what is behind it (a person who replaced talos-mac's
 * file by a link manages that file another way), and never opens a FIFO or a device (a read would
 * wait). A file swapped for another between the look and the read is left alone too.
 */
export async function ownBytes(runner: PrivilegedRunner, hostPath: string): Promise<{ data: Buffer } | { left: string } | undefined> {
  const e = await entryAt(runner, hostPath);
  if (e.kind === 'missing') return undefined;
  if (e.kind === 'link') return { left: `${hostPath} is now a symbolic link (to ${e.target}), which talos-mac did not make: the link and the file it points to are left as they are` };
  if (e.kind === 'other') return { left: `${hostPath} is now ${e.what}, not the file talos-mac wrote: left as it is` };
  const data = await runner.read(hostPath);
  const again = await entryAt(runner, hostPath);
  if (!data || again.kind !== 'file' || again.dev !== e.dev || again.ino !== e.ino) return { left: `${hostPath} changed while it was read: left as it is` };
  return { data };
}

/** Removes a backup that an interrupted run took of a file it then never replaced. */
export async function removeBackup(runner: PrivilegedRunner, backup: string, sha: string): Promise<void> {
  const b = await ownBytes(runner, backup);
  if (b && 'data' in b && sha256(b.data) === sha) await runner.removeFile(backup);
}

export function failed(argv: readonly string[], r: { exitCode: number | null; stderr: string }): string {
  return `\`${shellLine(argv)}\` failed (status ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})`;
}

type Created = Extract<Change, { kind: 'file-created' }>;

/** Removes a file talos-mac created while it still holds the bytes written; a link, a FIFO or an edited file is left. */
export async function removeCreatedFile(runner: PrivilegedRunner, c: Created): Promise<Reverted> {
  const own = await ownBytes(runner, c.path);
  if (!own) return undefined;
  if ('left' in own) return own.left;
  if (sha256(own.data) !== c.sha256Written) return `${c.path} was edited since talos-mac wrote it: left in place`;
  await runner.removeFile(c.path);
  return undefined;
}

/** The undo of a step that creates these files (runner.createFile). */
export const removesCreated =
  (...paths: string[]): Undo =>
  (c) =>
    c.kind === 'file-created' && paths.includes(c.path) ? (runner) => removeCreatedFile(runner, c) : undefined;

/**
 * The undo of a step that runs commands (runner.command): a record without an undo command runs
 * nothing; one with an undo command `allowed` says this step records is run (as `rewrite` makes it
 * for this runner, e.g. under --root).
 */
export function runsUndo(allowed: (undo: readonly string[]) => boolean, rewrite: (undo: readonly string[], runner: PrivilegedRunner) => string[] = (u) => [...u]): Undo {
  return (c) => {
    if (c.kind !== 'command') return undefined;
    const undo = c.undo;
    if (!undo) return async () => `\`${shellLine(c.argv)}\` has no safe automatic undo: revert it by hand if needed`;
    if (!allowed(undo)) return undefined;
    return async (runner) => {
      const argv = rewrite(undo, runner);
      const r = await runner.run(argv, { allowFailure: true });
      return r.exitCode === 0 ? undefined : failed(argv, r);
    };
  };
}

/** Exactly this argv. */
export const exactly =
  (...allowed: (readonly string[])[]) =>
  (argv: readonly string[]): boolean =>
    allowed.some((a) => a.length === argv.length && a.every((w, i) => w === argv[i]));

/** Exactly one known package manager's remove command for exactly these (well-formed) names. */
export function removalOk(packages: readonly string[], remove: readonly string[]): boolean {
  if (packages.length === 0 || !packages.every((p) => PACKAGE_NAME.test(p))) return false;
  const line = JSON.stringify(remove);
  return PACKAGE_MANAGERS.some((m) => JSON.stringify(m.remove(packages)) === line);
}

/** Runs a recorded package removal; a refusal (another package needs one of them now) keeps the entry for a later undo. */
export async function removeInstalled(runner: PrivilegedRunner, remove: readonly string[]): Promise<Reverted> {
  const r = await runner.run(remove, { allowFailure: true });
  return r.exitCode === 0 ? undefined : { keep: `${failed(remove, r)}: kept installed, and kept in the record` };
}

/** The undo of a step that installs packages (runner.installPackages). */
export const removesPackages: Undo = (c) => (c.kind === 'packages-installed' && removalOk(c.packages, c.remove) ? (runner) => removeInstalled(runner, c.remove) : undefined);

/** A module file talos-mac installs: a plain .ko name directly in the release's updates/talos-mac/. */
export function ownModule(release: string, path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9_-]+\.ko$/.test(name)) return false;
  const dir = moduleInstallDir(release);
  return path === `${dir}/${name}` || path === `/usr${dir}/${name}`;
}

/** The undo of a step that installs module files (runner.installModules): each removed while unchanged, then depmod for that release. */
export const removesModules: Undo = (c) => {
  if (c.kind !== 'modules-installed' || !KERNEL_RELEASE.test(c.release) || c.files.length === 0 || !c.files.every((f) => ownModule(c.release, f.path))) return undefined;
  return async (runner) => {
    const notes: string[] = [];
    for (const f of c.files) {
      const own = await ownBytes(runner, f.path);
      if (!own) continue;
      if ('left' in own) {
        notes.push(own.left);
        continue;
      }
      if (sha256(own.data) !== f.sha256Written) notes.push(`${f.path} was replaced since talos-mac installed it: left in place`);
      else await runner.removeFile(f.path);
    }
    const depmod = runner.depmod(c.release);
    const r = await runner.run(depmod, { allowFailure: true });
    if (r.exitCode !== 0) notes.push(`${failed(depmod, r)}: run it yourself`);
    return notes.length ? notes.join('; ') : undefined;
  };
};
