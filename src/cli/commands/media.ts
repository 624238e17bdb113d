import { defineCommand } from '../command.js';

export default defineCommand<{ json?: boolean }>({
  name: 'media',
  summary: 'is a file a PowerPC Mac boot disc, and which Mac OS does it look like? (reads only)',
  args: [
    { name: '<action>', help: 'check', choices: ['check'] },
    { name: '<file>', help: 'a disc image (.iso, .cdr, .toast, .img), a disc drive (/dev/sr0) or a qcow2 disk', value: 'path' },
  ],
  options: [{ flags: '--json', help: 'print JSON (talos-mac/schema MediaCheckReportSchema)' }],
  examples: [
    ['talos-mac media check ~/isos/tiger.iso'],
    ['talos-mac media check /dev/sr0', 'the disc in the drive'],
    ['talos-mac media check tiger.iso --json | jq .looksLike'],
  ],
  notes: `Reads the partition map and volume headers, and Mac OS X's System/Library/CoreServices/SystemVersion.plist
with 7-Zip when it is installed. Nothing is downloaded; talos-mac show NAME says where discs come from.`,
  jsonSchema: 'MediaCheckReportSchema',
  exits: {
    OK: 'a bootable Mac disc (a blessed HFS/HFS+ volume)',
    FAILED: 'not one (a PC disc, a data disc, random bytes)',
    USAGE: 'bad input (no such file, a folder, unreadable)',
  },
  async run({ args, opts }) {
    const { mediaCommand } = await import('../media.js');
    return mediaCommand(args[0] as string, args[1] as string, opts);
  },
});
