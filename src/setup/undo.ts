import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { UserError } from '../errors.js';
import { describeFileKind } from '../host/file-kind.js';
import { removeStaleTemps } from '../privileged/atomic-file.js';
import { sha256, type PrivilegedRunner } from '../privileged/runner.js';
import { shellLine } from '../ui/shell-quote.js';
import { withShadowRoot } from '../steps/host-changes/access.js';
import { GRUB_DEFAULT_PATH, removeArgument } from '../steps/host-changes/grub-default.js';
import { HV_BLACKLIST_FILE, MODULES_LOAD_FILE } from '../steps/host-changes/modules.js';
import { APK, APT, DNF, PACMAN, ZYPPER } from '../distro/package-manager.js';
import { DEFAULT_LOCALVERSION } from '../kernel/options.js';
import { HOOK_PATH } from '../kernel/hook.js';
import { PROVENANCE_DIR } from '../kernel/provenance.js';
import { BACKUP_DIR, KERNEL_RELEASE, moduleInstallDir, PACKAGE_NAME, readRecord, RECORD_PATH, type Change } from '../privileged/record.js';

const OWN_FILES = [GRUB_DEFAULT_PATH, MODULES_LOAD_FILE, HV_BLACKLIST_FILE, HOOK_PATH];
/** A record of what a talos-mac kernel was built from (src/kernel/provenance.ts). */
const ownProvenance = (path: string): boolean => path.startsWith(`${PROVENANCE_DIR}/`) && KERNEL_RELEASE.test(path.slice(PROVENANCE_DIR.length + 1).replace(/\.json$/, '')) && path.endsWith('.json');
const MANAGERS = [APT, DNF, ZYPPER, APK, PACMAN];

/** Exactly one known package manager's remove command for exactly these (well-formed) names. */
function removalOk(packages: readonly string[], remove: readonly string[]): boolean {
  if (packages.length === 0 || !packages.every((p) => PACKAGE_NAME.test(p))) return false;
  const line = JSON.stringify(remove);
  return MANAGERS.some((m) => JSON.stringify(m.remove(packages)) === line);
}

/** A module file talos-mac installs: a plain .ko name directly in the release's updates/talos-mac/. */
function ownModule(release: string, path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9_-]+\.ko$/.test(name)) return false;
  const dir = moduleInstallDir(release);
  return path === `${dir}/${name}` || path === `/usr${dir}/${name}`;
}

/** A kernel talos-mac built: its release ends in talos-mac's LOCALVERSION (a "+" after it is Kbuild's). */
const ownKernel = (release: string): boolean => KERNEL_RELEASE.test(release) && new RegExp(`${DEFAULT_LOCALVERSION}\\+?$`).test(release);
const rpmRelease = (release: string) => release.replace(/-/g, '_');

/**
 * Only commands and paths setup itself records are acted on: a record is a file on disk (and,
 * with --root, may come from another system), so it must not be able to run anything else.
 */
export function trusted(c: Change): boolean {
  const argvOk = (argv: readonly string[] | undefined): boolean => {
    if (!argv) return true;
    const line = argv.join(' ');
    // kernel.default-entry: the saved entry (or grubby's default) as it was before.
    if ((argv[0] === 'grub-set-default' || argv[0] === 'grub2-set-default') && argv.length <= 3 && argv.slice(1, -1).every((a) => /^--boot-directory=\/\S*$/.test(a)) && !argv[argv.length - 1]!.startsWith('-')) return true;
    if (argv[0] === 'grubby' && argv.length === 2 && /^--set-default=\/\S+$/.test(argv[1]!)) return true;
    return /^(update-grub|grub2?-mkconfig -o \/boot\/grub2?\/grub\.cfg|grubby --update-kernel=ALL --remove-args=disable_radix|modprobe -r kvm_pr|modprobe kvm_hv|gpasswd -d [a-z_][a-z0-9_.-]*\$? [a-z_][a-z0-9_.-]*)$/.test(line);
  };
  switch (c.kind) {
    case 'grub-argument':
      return c.path === GRUB_DEFAULT_PATH && c.token === 'disable_radix' && (c.backup === undefined || c.backup.startsWith(`${BACKUP_DIR}/`)) && argvOk(c.regenerate);
    case 'file-created':
      return OWN_FILES.includes(c.path) || ownProvenance(c.path);
    case 'command':
      return argvOk(c.undo);
    case 'packages-installed':
      return removalOk(c.packages, c.remove);
    case 'modules-installed':
      return KERNEL_RELEASE.test(c.release) && c.files.length > 0 && c.files.every((f) => ownModule(c.release, f.path));
    case 'kernel-installed':
      return ownKernel(c.release) && removalOk(c.packages, c.remove) && c.packages.every((p) => p.includes(c.release) || p.includes(rpmRelease(c.release)));
  }
}

export function current(runner: PrivilegedRunner, path: string): Promise<Buffer | undefined> {
  return runner.read(path);
}

/** What is at `hostPath` itself: its directories resolved inside the root (runner.local), the last component never followed. */
type Entry = { kind: 'missing' } | { kind: 'file'; dev: number; ino: number } | { kind: 'link'; target: string } | { kind: 'other'; what: string };

async function entryAt(runner: PrivilegedRunner, hostPath: string): Promise<Entry> {
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
async function ownBytes(runner: PrivilegedRunner, hostPath: string): Promise<{ data: Buffer } | { left: string } | undefined> {
  const e = await entryAt(runner, hostPath);
  if (e.kind === 'missing') return undefined;
  if (e.kind === 'link') return { left: `${hostPath} is now a symbolic link (to ${e.target}), which talos-mac did not make: the link and the file it points to are left as they are` };
  if (e.kind === 'other') return { left: `${hostPath} is now ${e.what}, not the file talos-mac wrote: left as it is` };
  const data = await current(runner, hostPath);
  const again = await entryAt(runner, hostPath);
  if (!data || again.kind !== 'file' || again.dev !== e.dev || again.ino !== e.ino) return { left: `${hostPath} changed while it was read: left as it is` };
  return { data };
}

/** Removes a backup that an interrupted run took of a file it then never replaced. */
export async function removeBackup(runner: PrivilegedRunner, backup: string, sha: string): Promise<void> {
  const b = await ownBytes(runner, backup);
  if (b && 'data' in b && sha256(b.data) === sha) await runner.removeFile(backup);
}

/** A change left in the record for a later `setup --undo`, and why. */
interface Kept {
  keep: string;
}

function failed(argv: readonly string[], r: { exitCode: number | null; stderr: string }): string {
  return `\`${shellLine(argv)}\` failed (status ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})`;
}

/** Why `release` must stay installed: it is the running kernel (removing it would leave the next boot to whatever remains), or that cannot be told. */
async function kernelKept(runner: PrivilegedRunner, release: string): Promise<Kept | undefined> {
  const uname = await runner.host.run(['uname', '-r']);
  const running = uname.exitCode === 0 ? uname.stdout.trim() : undefined;
  if (running === undefined) return { keep: `cannot tell the running kernel (uname -r failed): ${release} is kept installed, and kept in the record` };
  if (running === release) return { keep: `${release} is the running kernel: not removed. Boot another kernel, then run \`talos-mac setup --undo\` again to remove it.` };
  return undefined;
}

/** Reverts one recorded change; returns a note when it was left alone (and why). */
async function revert(runner: PrivilegedRunner, c: Change): Promise<string | Kept | undefined> {
  if (!trusted(c)) return `the record holds a change talos-mac setup does not make (${JSON.stringify(c)}): left alone`;
  switch (c.kind) {
    case 'grub-argument': {
      // A link that was there when setup edited the file was edited through (runner.local): undo
      // follows it only to the bytes talos-mac wrote (or left unchanged), never to a file put there since.
      const e = await entryAt(runner, c.path);
      if (e.kind === 'other') return `${c.path} is now ${e.what}: left as it is; remove ${c.token} from the boot configuration by hand`;
      const now = e.kind === 'missing' ? undefined : await current(runner, c.path);
      if (!now) return `${c.path} is gone: nothing to revert`;
      if (e.kind === 'link' && sha256(now) !== c.sha256Written && sha256(now) !== c.sha256Before) {
        return `${c.path} is a symbolic link (to ${e.target}) to a file that is not the one talos-mac wrote: left as it is; remove ${c.token} there by hand if it should go`;
      }
      if (c.sha256Before !== undefined && sha256(now) === c.sha256Before) {
        // The run that recorded it was stopped before the new file took its place.
        if (c.backup) await removeBackup(runner, c.backup, c.sha256Before);
        if (!runner.dryRun) await removeStaleTemps(runner.local(c.path));
        return c.state === 'started' ? `${c.path} was never changed (that setup run was interrupted first): nothing to revert` : `${c.path} is as it was before setup: nothing to revert`;
      }
      let restored: Buffer | undefined;
      // Untouched since talos-mac wrote it: the backup holds the exact original bytes (when it
      // still hashes to them: a replaced backup is not trusted).
      if (sha256(now) === c.sha256Written && c.backup) {
        const b = await current(runner, c.backup);
        if (b && (c.sha256Before === undefined || sha256(b) === c.sha256Before)) restored = b;
      }
      if (!restored) {
        const edit = removeArgument(now.toString('latin1'), c.token);
        if (!edit.ok) return `${c.path}: ${edit.reason}`;
        if (!edit.changed) return `${c.path} no longer has ${c.token}: left as it is`;
        restored = Buffer.from(edit.text, 'latin1');
      }
      await runner.writeFile(c.path, restored);
      if (c.regenerate) {
        const r = await runner.run(c.regenerate, { allowFailure: true });
        if (r.exitCode !== 0) return `${c.path} was restored, but \`${shellLine(c.regenerate)}\` failed (status ${r.exitCode}): run it yourself`;
      }
      return undefined;
    }
    case 'file-created': {
      const own = await ownBytes(runner, c.path);
      if (!own) return undefined;
      if ('left' in own) return own.left;
      const now = own.data;
      // A kernel's record goes with the kernel: while its removal is refused (below), the record stays.
      if (ownProvenance(c.path)) {
        const refused = await kernelKept(runner, c.path.slice(PROVENANCE_DIR.length + 1).replace(/\.json$/, ''));
        if (refused) return { keep: `${c.path} is kept with its kernel (${refused.keep.split(':')[0]})` };
      }
      if (sha256(now) !== c.sha256Written) return `${c.path} was edited since talos-mac wrote it: left in place`;
      await runner.removeFile(c.path);
      return undefined;
    }
    case 'command': {
      if (!c.undo) return `\`${shellLine(c.argv)}\` has no safe automatic undo: revert it by hand if needed`;
      const argv = c.undo[0] === 'gpasswd' ? withShadowRoot(c.undo, runner.options.root) : c.undo;
      const r = await runner.run(argv, { allowFailure: true });
      return r.exitCode === 0 ? undefined : failed(argv, r);
    }
    case 'packages-installed': {
      // A refusal (another package needs one of them now) keeps the entry for a later undo.
      const r = await runner.run(c.remove, { allowFailure: true });
      return r.exitCode === 0 ? undefined : { keep: `${failed(c.remove, r)}: kept installed, and kept in the record` };
    }
    case 'modules-installed': {
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
    }
    case 'kernel-installed': {
      const refused = await kernelKept(runner, c.release);
      if (refused) return refused;
      const r = await runner.run(c.remove, { allowFailure: true });
      return r.exitCode === 0 ? undefined : { keep: `${failed(c.remove, r)}: kept installed, and kept in the record` };
    }
  }
}

/** `setup --undo`: reverts the recorded changes, newest first, and leaves everything else alone. */
export async function undoSetup(runner: PrivilegedRunner): Promise<{ reverted: number; notes: string[] }> {
  const record = await readRecord(runner);
  const out = runner.options.out;
  if (record.changes.length === 0) {
    out(`Nothing to undo: ${runner.local(RECORD_PATH)} lists no changes by talos-mac setup.`);
    return { reverted: 0, notes: [] };
  }
  const notes: string[] = [];
  const done: Change[] = [];
  const kept: Change[] = [];
  const remaining = [...record.changes];
  try {
    while (remaining.length > 0) {
      const c = remaining[remaining.length - 1]!;
      out(`Undo ${c.step}: ${describe(c)}`);
      const result = await revert(runner, c);
      const note = typeof result === 'object' ? result.keep : result;
      if (note) {
        notes.push(note);
        out(`  ${note}`);
      }
      remaining.pop();
      if (typeof result === 'object') kept.unshift(c);
      else done.push(c);
    }
  } catch (err) {
    if (err instanceof UserError) notes.push(err.message);
    throw err;
  } finally {
    await runner.recorder.markUndone([...remaining, ...kept], done);
  }
  return { reverted: done.length, notes };
}

export function describe(c: Change): string {
  switch (c.kind) {
    case 'grub-argument':
      return `remove ${c.token} from ${c.path}`;
    case 'file-created':
      return `remove ${c.path}`;
    case 'command':
      return c.undo ? shellLine(c.undo) : `(${shellLine(c.argv)})`;
    case 'packages-installed':
      return shellLine(c.remove);
    case 'modules-installed':
      return `remove ${c.files.map((f) => f.path).join(', ')}; depmod -a ${c.release}`;
    case 'kernel-installed':
      return `remove Linux ${c.release}: ${shellLine(c.remove)}`;
  }
}
