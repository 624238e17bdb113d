import { CheckpointListSchema } from '../guests/report-schema.js';
import { UserError } from '../errors.js';
import { checkpointProblem, checkTag, defaultTag, deleteCheckpoint, listCheckpoints, restoreCheckpoint, saveCheckpoint, type Checkpoint } from '../guests/checkpoint.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import { refuseUnsafeImage } from '../host/file-kind.js';
import { findRunning } from '../launch/running.js';
import { whileGuestOff } from '../launch/offline.js';
import { writeOut, writeText } from '../ui/output.js';
import { EXIT } from '../exit-codes.js';

export interface CheckpointFlags {
  json?: boolean;
  yes?: boolean;
}

const ACTIONS = ['save', 'list', 'restore', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

function table(list: readonly Checkpoint[]): string {
  if (list.length === 0) return '';
  const w = Math.max(...list.map((c) => c.tag.length), 4);
  return list.map((c) => `  ${c.tag.padEnd(w)}  ${c.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}${c.vmStateSize ? '  (with RAM state, saved by QEMU)' : ''}`).join('\n') + '\n';
}

async function confirmDelete(name: string, tag: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UserError(`deleting checkpoint ${JSON.stringify(tag)} of ${name} cannot be undone: confirm with --yes (no terminal to ask on).`);
  const { makePrompts } = await import('../ui/prompts.js');
  return makePrompts({ yes: false, interactive: true }).confirm({ message: `Delete checkpoint ${JSON.stringify(tag)} of ${name} for good?`, default: false });
}

export async function checkpointCommand(name: string, action: string, tagArg: string | undefined, f: CheckpointFlags): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UserError(`unknown checkpoint action ${JSON.stringify(action)}: use save, list, restore or delete`);
  const a = action as Action;
  if (f.json && a !== 'list') throw new UserError('--json goes with list');
  if (a === 'list' && tagArg !== undefined) throw new UserError('checkpoint NAME list takes no name');
  if ((a === 'restore' || a === 'delete') && tagArg === undefined) throw new UserError(`checkpoint NAME ${a} needs the checkpoint's name (see talos-mac checkpoint ${name} list)`);
  if (tagArg !== undefined) checkTag(tagArg);
  const store = new GuestStore();
  const g = await store.read(name);
  const problem = checkpointProblem(g);
  if (problem) throw new UserError(`${problem}.`, 1);
  const host = thisMachine();

  if (a === 'list') {
    await refuseUnsafeImage(`cannot list the checkpoints of ${name}: its disk`, g.disk, { host, format: g.disk_format });
    // Reading the snapshot table is safe while the guest runs (-U: no lock asked for).
    const running = (await findRunning(host, store.paths, g)) !== undefined;
    const list = await listCheckpoints(host, g, running);
    if (f.json) writeOut(JSON.stringify(CheckpointListSchema.parse({ guest: name, disk: g.disk, running, checkpoints: list }), null, 2) + '\n');
    else writeText(list.length ? `Checkpoints of ${name} (${g.disk}):\n${table(list)}` : `${name} has no checkpoints yet. Save one: talos-mac checkpoint ${name} save\n`);
    return EXIT.OK;
  }
  if (a === 'delete' && !(await confirmDelete(name, tagArg!, f.yes ?? false))) {
    writeText('Nothing deleted.\n');
    return EXIT.OK;
  }
  return whileGuestOff(host, store.paths, g, `${a} a checkpoint of ${name}`, async () => {
    if (a === 'save') {
      const c = await saveCheckpoint(host, g, tagArg ?? defaultTag());
      writeText(`Saved checkpoint ${c.tag} of ${name}. Go back to it with: talos-mac checkpoint ${name} restore ${c.tag}\n`);
    } else if (a === 'restore') {
      const { restored, saved } = await restoreCheckpoint(host, g, tagArg!);
      writeText(
        `Restored ${name} to checkpoint ${restored.tag} (${restored.date}).\n` +
          `The state it had is kept as checkpoint ${saved.tag}: talos-mac checkpoint ${name} restore ${saved.tag} undoes this; ` +
          `talos-mac checkpoint ${name} delete ${saved.tag} frees its space.\n`,
      );
    } else {
      const c = await deleteCheckpoint(host, g, tagArg!);
      writeText(`Deleted checkpoint ${c.tag} of ${name}.\n`);
    }
    return EXIT.OK;
  });
}
