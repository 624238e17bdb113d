import { defineCommand } from '../command.js';
import type { CreateFlags } from '../create.js';
import { OS_HELP } from './os-help.js';

export default defineCommand<CreateFlags>({
  name: 'create',
  summary: 'define a guest and create its disk (qcow2; never overwrites)',
  args: [{ name: '<name>', help: 'guest name: letters, digits, ".", "_", "-"' }],
  options: [
    { flags: '--os <os>', help: `the Mac OS: ${OS_HELP}`, value: 'os', required: true },
    { flags: '--ram <size>', help: 'RAM: MiB (512) or with a unit (1G); at most 2048 MiB (mac99 limit; default per OS)' },
    { flags: '--disk-size <size>', help: 'size of the new disk, 1M to 2T, e.g. 20G (default per OS)' },
    { flags: '--disk <path>', help: 'use an existing disk image (qcow2 or another format qemu-img knows) instead of creating one', value: 'path' },
    { flags: '--raw', help: 'with --disk: the image is raw data (no header), and that is meant' },
    { flags: '--share-disk', help: "with --disk: the image is already another guest's, share it knowingly (never run both at once)" },
    { flags: '--cdrom <path>', help: 'installer CD/DVD image: refused unless it is a PowerPC Mac boot disc (talos-mac media check)', value: 'path' },
    { flags: '--force', help: 'with --cdrom: use a disc that is not a PowerPC Mac boot disc anyway' },
    { flags: '--cpu <name>', help: 'CPU model, e.g. g3, g4, 7410 (default per OS and accelerator)' },
    { flags: '--net <mode>', help: 'user | tap:IFACE | none', default: 'user' },
    { flags: '--nic <model>', help: 'sungem | rtl8139 (default per OS)' },
    { flags: '--resolution <WxH>', help: 'firmware screen, e.g. 1024x768 or 1024x768x32' },
    { flags: '--json', help: 'print what was created as JSON (talos-mac/schema CreateReportSchema)' },
  ],
  examples: [
    ['talos-mac create tiger --os tiger --cdrom ~/isos/tiger.iso'],
    ['talos-mac create os9 --os 9.2 --ram 512 --disk-size 4G --cdrom "OS 9.2.iso"'],
    ['talos-mac create leo --os leopard --ram 1G --disk ~/old/leopard.qcow2 --net tap:tap0'],
  ],
  notes:
    'The definition goes to $XDG_CONFIG_HOME/talos-mac/guests/NAME.toml (commented, editable),\nthe disk to $XDG_DATA_HOME/talos-mac/NAME.qcow2. See docs/guests.md.',
  exits: { OK: 'created', FAILED: 'qemu-img failed', USAGE: 'usage error (a bad value, an existing name or file, a file that is no disk image): nothing was created' },
  jsonSchema: 'CreateReportSchema',
  async run({ args, opts }) {
    const { createCommand } = await import('../create.js');
    return createCommand(args[0] as string, opts);
  },
});
