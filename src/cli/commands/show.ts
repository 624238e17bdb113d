import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean; verbose?: boolean }>({
  name: 'show',
  summary: "show a guest's definition and its OS's notes",
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [
    { flags: '--json', help: 'print JSON (talos-mac/schema ShowReportSchema)' },
    { flags: '-v, --verbose', help: "also the evidence behind the OS's profile, with its tags ([source], [reported], [inferred], [I])" },
  ],
  examples: [['talos-mac show tiger'], ['talos-mac show tiger -v'], ['talos-mac show tiger --json']],
  jsonSchema: 'ShowReportSchema',
  exits: { OK: 'shown', USAGE: 'no such guest, or its definition does not parse' },
  async run({ args, opts }) {
    const { showCommand } = await import('../show.js');
    return showCommand(args[0] as string, opts);
  },
});
