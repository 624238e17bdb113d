import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'status',
  summary: 'is a guest running? (exit 0 running, 1 not)',
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [{ flags: '--json', help: 'print JSON (talos-mac/schema GuestStatusSchema)' }],
  examples: [['talos-mac status tiger'], ['talos-mac status tiger --json']],
  exits: { OK: 'running', FAILED: 'not running', USAGE: 'no such guest' },
  jsonSchema: 'GuestStatusSchema',
  async run({ args, opts }) {
    const { statusCommand } = await import('../status.js');
    return statusCommand(args[0] as string, opts);
  },
});
