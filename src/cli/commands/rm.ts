import { defineCommand } from '../command.js';
import type { RmOptions } from '../rm.js';

export default defineCommand<RmOptions>({
  name: 'rm',
  summary: 'remove a guest definition (the disk is kept unless --delete-disk)',
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [
    { flags: '--delete-disk', help: 'also delete the disk image (asks first)' },
    { flags: '-y, --yes', help: 'do not ask' },
    { flags: '--json', help: 'print what was removed as JSON (talos-mac/schema RmReportSchema)' },
  ],
  examples: [
    ['talos-mac rm tiger', 'definition only; the disk stays'],
    ['talos-mac rm tiger --delete-disk --yes'],
  ],
  exits: {
    OK: 'removed (or nothing, when the question was answered no)',
    FAILED: 'the guest is running: stop it first',
    USAGE: 'no such guest; --delete-disk on a disk talos-mac did not create, or without --yes and no terminal',
  },
  jsonSchema: 'RmReportSchema',
  async run({ args, opts }) {
    const { rmCommand } = await import('../rm.js');
    return rmCommand(args[0] as string, opts);
  },
});
