import { UserError } from '../errors.js';
import { checkpointProblem, defaultTag, saveCheckpoint } from '../guests/checkpoint.js';
import type { Guest } from '../guests/definition.js';
import { diskIsEmpty } from '../guests/disk.js';
import type { GuestPaths } from '../guests/paths.js';
import type { Host } from '../host/host.js';
import { whileGuestOff } from './offline.js';

/**
 * Before an installer boots on a disk that already holds data: a checkpoint, so the install can
 * be undone. `choice` is --checkpoint (true) / --no-checkpoint (false); unset, a terminal is asked
 * (Enter: yes) and without one the checkpoint is saved — it costs only metadata, and not saving
 * it is the choice that can lose something. Returns the lines to print.
 */
export async function installCheckpoint(
  host: Host,
  paths: GuestPaths,
  g: Guest,
  choice: boolean | undefined,
  ask: ((message: string) => Promise<boolean>) | undefined,
): Promise<string[]> {
  if (choice === false) return [];
  if ((await diskIsEmpty(host, g.disk, g.disk_format)) !== false) return [];
  const problem = checkpointProblem(g);
  if (problem) {
    if (choice === true) throw new UserError(`--checkpoint: ${problem}. Nothing was started.`, 1);
    return [`The disk already holds data and no checkpoint can be saved first: ${problem}.`];
  }
  if (choice === undefined && ask && !(await ask(`The disk of ${g.name} already holds data. Save a checkpoint before the installer runs (undo the install with checkpoint restore)?`))) {
    return [`No checkpoint saved (the installer may change what is on the disk).`];
  }
  const c = await whileGuestOff(host, paths, g, 'save a checkpoint before installing', () => saveCheckpoint(host, g, defaultTag('before-install-')));
  return [`Saved checkpoint ${c.tag}: talos-mac checkpoint ${g.name} restore ${c.tag} puts the disk back as it was before this install.`];
}
