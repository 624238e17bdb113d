import { defineCommand } from '../command.js';

export default defineCommand<import('../set.js').SetFlags>({
  name: 'set',
  summary: "change a guest's definition (CD, RAM, network, display, CPU, …): checked like create, your comments kept",
  args: [{ name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' }],
  options: [
    { flags: '--cdrom <path>', help: 'insert this CD/DVD image: refused unless it is a PowerPC Mac boot disc (talos-mac media check)', value: 'path' },
    { flags: '--no-cdrom', help: 'eject: the guest has no CD' },
    { flags: '--force', help: 'with --cdrom: use a disc that is not a PowerPC Mac boot disc anyway' },
    { flags: '--ram <size>', help: 'RAM: MiB (512) or with a unit (1G); at most 2048 MiB (mac99 limit)' },
    { flags: '--net <mode>', help: 'user | tap:IFACE | none' },
    { flags: '--display <mode>', help: 'how launch shows the screen unless told: auto | window | vnc[=HOST:N] | serial | none' },
    { flags: '--cpu <name>', help: "CPU model, e.g. g3, g4, 7410 ('default': the OS's default)" },
    { flags: '--nic <model>', help: "sungem | rtl8139 ('default': the OS's default)", words: ['sungem', 'rtl8139', 'default'] },
    { flags: '--resolution <WxH>', help: 'firmware screen, e.g. 1024x768 or 1024x768x32' },
    { flags: '-n, --dry-run', help: 'show the change; write nothing' },
    { flags: '--json', help: 'print what changed as JSON' },
  ],
  examples: [
    ['talos-mac set tiger --cdrom ~/isos/tiger.iso', 'the install disc, then: talos-mac launch tiger --install'],
    ['talos-mac set tiger --no-cdrom', 'eject it'],
    ['talos-mac set tiger --ram 1G --net none --dry-run'],
    ['talos-mac set tiger --display vnc=127.0.0.1:3'],
  ],
  notes: `Refused while the guest runs (QEMU sees a change only when it starts). Every other line of
NAME.toml, your comments included, is kept; the file is replaced atomically.`,
  exits: { OK: 'changed (or nothing to change)', FAILED: 'refused: the guest is running', USAGE: 'a bad value, a disc that is not a PowerPC Mac boot disc, no such guest' },
  jsonSchema: 'SetReportSchema',
  async run({ args, opts }) {
    const { setCommand } = await import('../set.js');
    return setCommand(args[0] as string, opts);
  },
});
