import { expandHome } from '../../parse/user-path.js';
import { defineCommand } from '../command.js';
import type { FilesFlags } from '../files.js';

export default defineCommand<FilesFlags>({
  name: 'files',
  summary: "list or copy files out of a guest's disk while it is off (read with 7-Zip; the disk is never written)",
  args: [
    { name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' },
    { name: '<action>', help: 'ls [PATH] | get PATH DEST', choices: ['ls', 'get'] },
    { name: '[paths...]', help: 'the path in the guest (from the volume top, e.g. /Users/me), and for get where to put it' },
  ],
  options: [
    { flags: '--json', help: 'with ls: print JSON (talos-mac/schema FilesListingSchema)' },
    { flags: '--force', help: 'with get: replace existing files in DEST (never folders or links)' },
    { flags: '--volume <n|name>', help: 'which Mac volume, when the disk has several (a partition number or name)' },
    { flags: '--temp-dir <dir>', help: 'where the temporary copy of the volume goes (default: beside DEST; for ls the cache)', value: 'dir' },
  ],
  examples: [
    ['talos-mac files tiger ls /Users/me/Documents'],
    ['talos-mac files tiger get /Users/me/Documents/report.txt ~/from-tiger/'],
    ['talos-mac files tiger get "/Users/me/Documents" ~/tiger-docs', 'a folder, with what it holds'],
  ],
  notes: `Needs 7-Zip (\`talos-mac doctor tools.7zip\` shows the command for this system). Data forks only: resource forks and links
are not copied (links are named). Nothing in DEST is overwritten without --force.`,
  jsonSchema: 'FilesListingSchema',
  exits: { OK: 'done', FAILED: 'refused (the guest is running, no Mac volume) or a tool failed', USAGE: 'usage error' },
  async run({ args, opts }) {
    const { filesCommand } = await import('../files.js');
    const [name, action, paths] = args as [string, string, string[] | undefined];
    // DEST is a path on this machine (the path in the guest is not): `get PATH ~/x`.
    const words = paths ?? [];
    return filesCommand(name, action, action === 'get' && words.length === 2 ? [words[0]!, expandHome(words[1]!)] : words, opts);
  },
});
