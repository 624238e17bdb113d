import { removeBackup } from '../privileged/revert.js';
import { sha256 } from '../privileged/sha256.js';
import { STEPS } from '../steps/registry.js';
import { removeArgument } from '../steps/host-changes/grub-default.js';
import { regenerateAndProve } from '../steps/host-changes/mmu-hash.js';
import type { Changes, Step } from '../steps/step.js';
import { describe, trusted } from './undo.js';

/**
 * Before a new run changes anything: finishes or forgets what an interrupted run had started (its
 * record entries still "started"). A file that still holds its old bytes was never changed, so the
 * entry goes; one that holds the new bytes is finished (regenerated and proven) like a fresh edit.
 */
export async function resumeInterrupted(deps: Changes, steps: readonly Step[] = STEPS): Promise<void> {
  const { runner } = deps;
  const recorder = runner.recorder;
  const out = runner.options.out;
  const record = await recorder.current();
  for (const c of record.changes.filter((x) => x.state === 'started' && trusted(x, steps))) {
    out(`An earlier setup run was interrupted during: ${describe(c)}`);
    if (c.kind !== 'grub-argument') {
      out('  it may or may not have happened; `talos-mac setup --undo` reverts it either way');
      await recorder.finish(c);
      continue;
    }
    const now = await runner.read(c.path);
    if (!now || (c.sha256Before !== undefined && sha256(now) === c.sha256Before)) {
      out(`  ${c.path} was not changed yet: nothing to finish`);
      if (c.backup && c.sha256Before) await removeBackup(runner, c.backup, c.sha256Before);
      await recorder.retract(c);
      continue;
    }
    if (sha256(now) !== c.sha256Written) {
      out(`  ${c.path} was changed since by someone else: left as it is, and kept for \`talos-mac setup --undo\``);
      await recorder.finish(c);
      continue;
    }
    out(`  ${c.path} holds the new text: finishing the change`);
    if (c.regenerate) {
      const backup = c.backup ? await runner.read(c.backup) : undefined;
      const undone = removeArgument(now.toString('latin1'), c.token);
      const original = backup && sha256(backup) === c.sha256Before ? backup : undone.ok ? Buffer.from(undone.text, 'latin1') : now;
      await regenerateAndProve(deps, c.regenerate, { original, entry: c });
    }
    await recorder.finish(c);
  }
}
