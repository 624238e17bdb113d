import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'stop',
  summary: "quit a running guest's QEMU cleanly (QMP quit; shut the guest OS down first)",
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [{ flags: '--json', help: 'print the result as JSON (talos-mac/schema GuestStopReportSchema)' }],
  examples: [['talos-mac stop tiger']],
  exits: { OK: 'stopped', FAILED: 'the guest is not running, or QEMU did not quit (then: talos-mac kill NAME)', USAGE: 'no such guest' },
  jsonSchema: 'GuestStopReportSchema',
  async run({ args, opts }) {
    const { stopCommand } = await import('../stop.js');
    return stopCommand(args[0] as string, process.env, opts);
  },
});
