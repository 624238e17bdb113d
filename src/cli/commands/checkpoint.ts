import { defineCommand } from '../command.js';
import type { CheckpointFlags } from '../checkpoint.js';

export default defineCommand<CheckpointFlags>({
  name: 'checkpoint',
  summary: "save, list, restore or delete checkpoints of a guest's qcow2 disk (the guest must be off)",
  args: [
    { name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' },
    { name: '<action>', help: 'save | list | restore | delete', choices: ['save', 'list', 'restore', 'delete'] },
    { name: '[tag]', help: 'the checkpoint name (save: default the date and time, e.g. 2026-12-02-154501)' },
  ],
  options: [
    { flags: '--json', help: 'with list: print JSON (talos-mac/schema CheckpointListSchema)' },
    { flags: '-y, --yes', help: 'with delete: do not ask' },
  ],
  examples: [
    ['talos-mac checkpoint tiger save before-update', 'the disk as it is now'],
    ['talos-mac checkpoint tiger list'],
    ['talos-mac checkpoint tiger restore before-update', '(the state it replaces is kept as before-restore-…)'],
    ['talos-mac checkpoint tiger delete before-update --yes'],
  ],
  notes: 'Checkpoints are qcow2 internal snapshots (qemu-img snapshot); a raw disk cannot hold them.',
  jsonSchema: 'CheckpointListSchema',
  exits: { OK: 'done', FAILED: 'refused (the guest is running, a raw disk) or qemu-img failed', USAGE: 'usage error' },
  async run({ args, opts }) {
    const { checkpointCommand } = await import('../checkpoint.js');
    return checkpointCommand(args[0] as string, args[1] as string, args[2] as string | undefined, opts);
  },
});
