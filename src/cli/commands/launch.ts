import { defineCommand } from '../command.js';
import { HOST_SNAPSHOT_OPTIONS, QEMU_COMMAND_OPTIONS } from './shared.js';
import type { LaunchFlags } from '../launch.js';

export default defineCommand<LaunchFlags>({
  name: 'launch',
  summary: 'boot a guest in QEMU mac99 (KVM-PR when the host is ready, else TCG)',
  args: [
    { name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' },
    { name: '[qemu-args...]', help: 'after --: raw arguments appended to the QEMU command' },
  ],
  options: [
    { flags: '--accel <mode>', help: 'auto | kvm | tcg', default: 'auto', words: ['auto', 'kvm', 'tcg'] },
    { flags: '--install', help: 'boot the installer CD (under TCG unless --accel kvm)' },
    { flags: '--checkpoint', help: 'with --install on a disk that holds data: save a checkpoint first without asking' },
    { flags: '--no-checkpoint', help: 'with --install: do not save one (default: ask on a terminal, save one without)' },
    { flags: '--force', help: 'boot the CD even if it is not a PowerPC Mac boot disc; with --accel kvm: try an OS or CPU not known to work under KVM-PR' },
    {
      flags: '--display <mode>',
      help: "auto (a window where one can open, else VNC on localhost) | window | vnc[=HOST:N] (default 127.0.0.1, first free display) | serial (firmware console on this terminal) | none (default: the guest's display, set with talos-mac set NAME --display, else auto)",
    },
    ...QEMU_COMMAND_OPTIONS,
    { flags: '--detach', help: 'run in the background, still restarted after guest resets (talos-mac status/stop/kill NAME)' },
    { flags: '--paused', help: 'start with the CPU stopped (QEMU -S)' },
    { flags: '--sound', help: 'sound through the mac99 Screamer chip (only QEMU builds that carry it; doctor check qemu.sound)' },
    { flags: '--timeout <seconds>', help: 'stop QEMU after this long' },
    ...HOST_SNAPSHOT_OPTIONS,
  ],
  examples: [
    ['talos-mac launch tiger', 'boot the disk (KVM-PR if ready, else TCG; says why)'],
    ['talos-mac launch tiger --display window', 'a window, or a refusal saying why not (ssh: use ssh -X or --display vnc)'],
    ['talos-mac launch tiger --display vnc=127.0.0.1:3', 'VNC on port 5903'],
    ['talos-mac launch tiger --install', 'boot the installer CD under TCG\n(a disk with data: a checkpoint is offered first)'],
    ['talos-mac launch tiger --print-cmd', 'the exact QEMU command, copy-pasteable (without -no-reboot: see below)'],
    ['talos-mac launch tiger --display vnc', 'no window here (ssh, no GUI module): a VNC server on localhost'],
    ['talos-mac launch os9 --sound', 'sound, on a QEMU build with the Screamer chip (doctor qemu.sound)'],
    ['talos-mac launch tiger --detach', 'in the background; then talos-mac status tiger'],
    ['talos-mac launch tiger -- -d guest_errors', 'extra QEMU arguments'],
  ],
  notes: `A restart inside the guest comes back: launch starts a fresh QEMU (same command) after each guest
reset and counts it; more than 5 resets in 60 s stop the launch. With --detach a background
talos-mac process does the same (its pid is printed; its messages go to the log).
QEMU's messages go to $XDG_STATE_HOME/talos-mac/logs/NAME.log; known errors are explained.`,
  exits: {
    OK: 'the guest ran and powered off (or was started, with --detach)',
    FAILED: 'QEMU failed; the guest is already running; this host cannot (--accel kvm without KVM-PR, --display window without a desktop)',
    USAGE: 'usage error (no such guest, a bad value, --accel kvm with a CPU or OS KVM-PR does not run): nothing was started',
  },
  async run({ args, opts, rawArgs }) {
    const { launchCli, qemuWords } = await import('../launch.js');
    return launchCli(args[0] as string, qemuWords(rawArgs, (args[1] as string[] | undefined) ?? []), opts);
  },
});
