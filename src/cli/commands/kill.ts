import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'kill',
  summary: "kill a guest's QEMU at once (SIGKILL), when stop gets no answer",
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [{ flags: '--json', help: 'print the result as JSON (talos-mac/schema GuestStopReportSchema)' }],
  examples: [['talos-mac kill tiger']],
  exits: { OK: 'killed', FAILED: 'the guest is not running, or its QEMU survived', USAGE: 'no such guest' },
  jsonSchema: 'GuestStopReportSchema',
  async run({ args, opts }) {
    const { killCommand } = await import('../kill.js');
    return killCommand(args[0] as string, process.env, opts);
  },
});
