import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { removeStaleTemps } from '../privileged/atomic-file.js';
import { sha256, type PrivilegedRunner } from '../privileged/runner.js';
import { shellLine } from '../ui/shell-quote.js';
import { withShadowRoot } from '../steps/host-changes/access.js';
import { GRUB_DEFAULT_PATH, removeArgument } from '../steps/host-changes/grub-default.js';
import { HV_BLACKLIST_FILE, MODULES_LOAD_FILE } from '../steps/host-changes/modules.js';
import { BACKUP_DIR, ChangeRecorder, readRecord, RECORD_PATH, type Change } from './record.js';

const OWN_FILES = [GRUB_DEFAULT_PATH, MODULES_LOAD_FILE, HV_BLACKLIST_FILE];

/**
 * Only commands and paths setup itself records are acted on: a record is a file on disk (and,
 * with --root, may come from another system), so it must not be able to run anything else.
 */
export function trusted(c: Change): boolean {
  const argvOk = (argv: readonly string[] | undefined): boolean => {
    if (!argv) return true;
    const line = argv.join(' ');
    return /^(update-grub|grub2?-mkconfig -o \/boot\/grub2?\/grub\.cfg|grubby --update-kernel=ALL --remove-args=disable_radix|modprobe -r kvm_pr|modprobe kvm_hv|gpasswd -d [a-z_][a-z0-9_.-]*\$? [a-z_][a-z0-9_.-]*)$/.test(line);
  };
  switch (c.kind) {
    case 'grub-argument':
      return c.path === GRUB_DEFAULT_PATH && c.token === 'disable_radix' && (c.backup === undefined || c.backup.startsWith(`${BACKUP_DIR}/`)) && argvOk(c.regenerate);
    case 'file-created':
      return OWN_FILES.includes(c.path);
    case 'command':
      return argvOk(c.undo);
  }
}

export async function current(runner: PrivilegedRunner, path: string): Promise<Buffer | undefined> {
  return readFile(runner.local(path)).catch(() => undefined);
}

/** Removes a backup that an interrupted run took of a file it then never replaced. */
export async function removeBackup(runner: PrivilegedRunner, backup: string, sha: string): Promise<void> {
  const b = await current(runner, backup);
  if (b && sha256(b) === sha) await runner.removeFile(backup);
}

/** Reverts one recorded change; returns a note when it was left alone (and why). */
async function revert(runner: PrivilegedRunner, c: Change): Promise<string | undefined> {
  if (!trusted(c)) return `the record holds a change talos-mac setup does not make (${JSON.stringify(c)}): left alone`;
  switch (c.kind) {
    case 'grub-argument': {
      const now = await current(runner, c.path);
      if (!now) return `${c.path} is gone: nothing to revert`;
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
      const now = await current(runner, c.path);
      if (!now) return undefined;
      if (sha256(now) !== c.sha256Written) return `${c.path} was edited since talos-mac wrote it: left in place`;
      await runner.removeFile(c.path);
      return undefined;
    }
    case 'command': {
      if (!c.undo) return `\`${shellLine(c.argv)}\` has no safe automatic undo: revert it by hand if needed`;
      const argv = c.undo[0] === 'gpasswd' ? withShadowRoot(c.undo, runner.options.root) : c.undo;
      const r = await runner.run(argv, { allowFailure: true });
      return r.exitCode === 0 ? undefined : `\`${shellLine(argv)}\` failed (status ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})`;
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
  const remaining = [...record.changes];
  const recorder = new ChangeRecorder(runner);
  try {
    while (remaining.length > 0) {
      const c = remaining[remaining.length - 1]!;
      out(`Undo ${c.step}: ${describe(c)}`);
      const note = await revert(runner, c);
      if (note) {
        notes.push(note);
        out(`  ${note}`);
      }
      done.push(remaining.pop()!);
    }
  } catch (err) {
    if (err instanceof UserError) notes.push(err.message);
    throw err;
  } finally {
    await recorder.markUndone(remaining, done);
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
  }
}
