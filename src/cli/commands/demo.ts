import { defineCommand } from '../command.js';
import { HOST_SNAPSHOT_OPTIONS, QEMU_COMMAND_OPTIONS } from './shared.js';
import type { DemoFlags } from '../demo.js';

export default defineCommand<DemoFlags>({
  name: 'demo',
  summary: 'boot a tiny self-made Mac disk (no Mac OS media needed) on the serial console, or on a screen',
  options: [
    { flags: '--accel <mode>', help: 'auto | kvm | tcg', default: 'tcg', words: ['auto', 'kvm', 'tcg'] },
    {
      flags: '--display <mode>',
      help: 'serial (the firmware console here; the demo powers off) | vnc[=HOST:N] | window (a screen that stays until talos-mac stop demo; talos-mac screenshot demo saves it)',
      default: 'serial',
    },
    { flags: '--timeout <seconds>', help: 'give up after this long (default 60 on the serial console; none on a screen)' },
    ...QEMU_COMMAND_OPTIONS,
    { flags: '--image <path>', help: 'boot this demo image instead of building one (for hosts without xorriso)', value: 'path' },
    { flags: '--work-dir <dir>', help: 'build the demo image here and keep it', value: 'dir', hidden: true },
    ...HOST_SNAPSHOT_OPTIONS,
  ],
  examples: [
    ['talos-mac demo', 'TCG: firmware output, which device it booted from, exit 0'],
    ['talos-mac demo --accel kvm', 'on a POWER9 host ready for KVM-PR'],
    ['talos-mac demo --display vnc', 'a screen to look at (VNC on localhost); then talos-mac screenshot demo shot.png'],
    ['talos-mac demo --image ~/.cache/talos-mac/demo-disk-*.img', 'an image built on another machine'],
  ],
  notes: 'Needs qemu-system-ppc and xorriso (only qemu-system-ppc with --image).',
  exits: { OK: 'the demo disk booted', FAILED: 'it did not boot, QEMU failed, or this host cannot (--accel kvm without KVM-PR)', USAGE: 'usage error' },
  async run({ opts }) {
    const { demoCli } = await import('../demo.js');
    return demoCli(opts);
  },
});
