import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'list',
  summary: 'list guests',
  options: [{ flags: '--json', help: 'print JSON (talos-mac/schema GuestListSchema)' }],
  examples: [['talos-mac list'], ['talos-mac list --json | jq -r ".[].name"']],
  exits: { OK: 'listed', FAILED: 'a definition does not parse (it is listed as INVALID)' },
  jsonSchema: 'GuestListSchema',
  async run({ opts }) {
    const { listCommand } = await import('../list.js');
    return listCommand(opts);
  },
});
