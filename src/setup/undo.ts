import { UserError } from '../errors.js';
import type { Revert } from '../privileged/revert.js';
import type { PrivilegedRunner } from '../privileged/runner.js';
import { stepOfRecord, STEPS } from '../steps/registry.js';
import type { Step } from '../steps/step.js';
import { shellLine } from '../ui/shell-quote.js';
import { readRecord, RECORD_PATH, type Change } from '../privileged/record.js';

/**
 * How a recorded change is reverted: asked of the step the record names (its `undo`), and
 * undefined when no step claims it. A record is a file on disk (and, with --root, may come from
 * another system), so it must not be able to run or remove anything its step would not.
 */
export function revertOf(c: Change, steps: readonly Step[] = STEPS): Revert | undefined {
  return stepOfRecord(c.step, steps)?.undo?.(c);
}

export const trusted = (c: Change, steps: readonly Step[] = STEPS): boolean => revertOf(c, steps) !== undefined;

/** `setup --undo`: reverts the recorded changes, newest first, each as the step that made it says, and leaves everything else alone. */
export async function undoSetup(runner: PrivilegedRunner, steps: readonly Step[] = STEPS): Promise<{ reverted: number; notes: string[] }> {
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
      const revert = revertOf(c, steps);
      const result = revert ? await revert(runner) : `the record holds a change talos-mac setup does not make (${JSON.stringify(c)}): left alone`;
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
