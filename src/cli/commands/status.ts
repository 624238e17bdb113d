import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'status',
  summary: 'is a guest running, how, and where is its screen? Without a name: every guest (exit 0); with one: exit 0 running, 1 not',
  args: [{ name: '[name]', help: 'guest name (see talos-mac list; default: every guest)', value: 'guest' }],
  options: [{ flags: '--json', help: 'print JSON (talos-mac/schema GuestStatusSchema; without a name StatusReportSchema)' }],
  examples: [
    ['talos-mac status', 'every guest: running or not, accelerator, display address'],
    ['talos-mac status tiger'],
    ["talos-mac status --json | jq -r '.guests[] | select(.running) | .name'"],
  ],
  exits: { OK: 'running (with a name), or the list of every guest', FAILED: 'the guest named is not running', USAGE: 'no such guest' },
  jsonSchema: 'GuestStatusSchema',
  async run({ args, opts }) {
    const { statusCommand } = await import('../status.js');
    return statusCommand(args[0] as string | undefined, opts);
  },
});
