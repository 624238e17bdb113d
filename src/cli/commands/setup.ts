import { defineCommand } from '../command.js';
import type { SetupOptions } from '../setup.js';
import { OS_HELP } from './os-help.js';

export default defineCommand<SetupOptions>({
  name: 'setup',
  summary:
    'the wizard: install QEMU and its tools, fix this host for KVM-PR (hash MMU, kernel, kvm_pr, /dev/kvm), then create a Mac OS guest or boot the demo guest',
  options: [
    { flags: '-y, --yes', help: 'accept the plan without asking (unattended; kvm_hv is never blacklisted, no kernel build, no guest unless --os, 7-Zip and rclone yes, a window module only with a desktop session)' },
    { flags: '-n, --dry-run', help: 'print the plan and the exact commands; change nothing' },
    { flags: '--undo', help: 'show what talos-mac changed (from its record), ask, revert it newest first' },
    { flags: '--user <name>', help: 'the user to give /dev/kvm access (default: you, or SUDO_USER)' },
    { flags: '--kvm-hv <choice>', help: 'what to do with a loaded kvm_hv (default: ask)', choices: ['keep', 'unload', 'blacklist'] },
    { flags: '--root <dir>', help: 'read and change files under <dir> instead of / (commands still act on this machine: use with --dry-run for a mounted system)', value: 'dir' },
    { flags: '--snapshot <dir>', help: 'with --dry-run: the plan for a host snapshot', value: 'dir' },
    { flags: '--build-kernel', help: 'when this kernel cannot do KVM-PR, build and install one (takes hours; asked otherwise)' },
    { flags: '--skip-kernel', help: 'leave the kernel as it is (guests run under TCG until it can do KVM-PR)' },
    { flags: '--kernel-hook', help: 'install a kernel post-install hook that notes new distribution kernels (it never builds; --undo removes it)' },
    { flags: '--os <os>', help: `create a guest of this Mac OS at the end: ${OS_HELP}`, value: 'os' },
    { flags: '--name <name>', help: "the guest's name (default: the codename, e.g. tiger)" },
    { flags: '--ram <size>', help: "the guest's RAM: MiB (512) or with a unit (1G); default per OS, at most 2048 MiB" },
    { flags: '--disk-size <size>', help: "the size of the guest's new disk, e.g. 20G (default per OS)" },
    { flags: '--cdrom <path>', help: 'install CD/DVD image: checked to be a PowerPC Mac boot disc (as media check does)', value: 'path' },
    { flags: '--force', help: 'with --cdrom: use a disc that is not a PowerPC Mac boot disc anyway' },
    { flags: '--net <mode>', help: "the guest's network: user | none | tap:IFACE (default user)" },
    { flags: '--no-guest', help: 'create no guest (and ask nothing about one)' },
    { flags: '--no-demo', help: 'without a guest to create, setup ends by booting the demo guest: not this time' },
    { flags: '--with-files', help: 'also install 7-Zip, for `files` and `media check` (default: asked; --yes: yes)', conflicts: 'withoutFiles' },
    { flags: '--without-files', help: 'leave 7-Zip out' },
    { flags: '--with-live-share', help: 'also install rclone, for `share NAME DIR --live` (WebDAV for Mac OS X guests; default: asked; --yes: yes)', conflicts: 'withoutLiveShare' },
    { flags: '--without-live-share', help: 'leave rclone out' },
    { flags: '--with-window', help: "also install QEMU's window module (default: only where a desktop session exists)", conflicts: 'withoutWindow' },
    { flags: '--without-window', help: "leave QEMU's window module out" },
    { flags: '--json', help: 'print the plan and the results as one JSON document (schema: talos-mac/schema SetupReportSchema)' },
    { flags: '-v, --verbose', help: "the plan with each step's id, its checks' detail (Kconfig) and every step listed" },
  ],
  examples: [
    ['talos-mac setup', 'the plan, one question, then the host steps and a guest'],
    ['talos-mac setup --yes', 'unattended: install QEMU and its tools, then boot the demo guest'],
    ['talos-mac setup --yes --without-files --without-live-share', 'QEMU, its ROMs and xorriso only'],
    ['talos-mac setup --dry-run', 'the plan and the exact commands; nothing changes'],
    ['talos-mac setup --yes --os tiger --cdrom tiger.iso', 'unattended, ending with a Tiger guest'],
    ['talos-mac setup --yes --build-kernel', 'also build a kernel that can do KVM-PR (hours)'],
    ['talos-mac setup --json --dry-run', 'the plan as JSON (talos-mac/schema SetupReportSchema)'],
    ['talos-mac setup --undo', 'show what setup changed, ask, revert it (from its record)'],
    ['talos-mac setup --dry-run --snapshot report/', 'the plan for a captured host'],
    ['talos-mac setup --root /mnt --dry-run', "the plan for a mounted system's files (applying it would\nrun update-grub and modprobe on this machine: docs/setup.md)"],
  ],
  notes: 'Without a terminal setup asks nothing: it uses the flags, or names every missing one and stops.',
  exits: {
    OK: 'done',
    FAILED: 'a step failed or is still open',
    USAGE: 'usage error (or a missing flag without a terminal)',
    REBOOT_NEEDED: 'reboot needed (then run setup again)',
  },
  jsonSchema: 'SetupReportSchema',
  async run({ opts }) {
    const { setupCommand } = await import('../setup.js');
    return setupCommand(opts);
  },
});
