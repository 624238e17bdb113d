import type { OptionSpec } from '../command.js';

/** launch's and demo's: print the QEMU command, and decide against a captured host. */
export const QEMU_COMMAND_OPTIONS: readonly OptionSpec[] = [
  { flags: '--print-cmd', help: 'print the QEMU command instead of running it' },
  { flags: '--json', help: 'with --print-cmd: the argv as a JSON array' },
];

export const HOST_SNAPSHOT_OPTIONS: readonly OptionSpec[] = [
  { flags: '--snapshot <dir>', help: 'check QEMU and decide KVM-PR against a host snapshot (doctor --collect) instead of this machine', value: 'dir' },
  { flags: '--host-snapshot <dir>', help: 'old name of --snapshot (accepted until 0.3)', value: 'dir', hidden: true },
];
