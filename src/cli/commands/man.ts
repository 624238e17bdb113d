import { defineCommand } from '../command.js';

export default defineCommand({
  name: 'man',
  summary: 'print the manual page (roff), generated from the command definitions',
  examples: [
    ['talos-mac man | man -l -', 'read it'],
    ['talos-mac man > ~/.local/share/man/man1/talos-mac.1', 'install it for `man talos-mac`'],
  ],
  exits: { OK: 'printed' },
  async run() {
    const [{ manPage }, { COMMANDS }, { writeOut }, { VERSION }] = await Promise.all([import('../man.js'), import('./index.js'), import('../../ui/output.js'), import('../../version.js')]);
    writeOut(manPage(COMMANDS, VERSION));
    return 0;
  },
});
