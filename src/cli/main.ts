import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../errors.js';
import { shownLines } from '../ui/escape.js';
import { EXIT } from '../exit-codes.js';
import { VERSION } from '../version.js';

const DOCTOR_EXAMPLES = `
Examples:
  $ talos-mac doctor                     diagnose this host
  $ talos-mac doctor -v                  with the evidence behind every check
  $ talos-mac doctor --json | jq .verdict
  $ talos-mac doctor mmu kvm.pr-loaded   only the MMU checks and one KVM check
  $ talos-mac doctor --collect report/   diagnose and save a snapshot for a bug report
  $ talos-mac doctor --snapshot report/  diagnose a snapshot instead of this host

Exit status: 0 no failures (warnings allowed), 1 a check failed (or warned, with --strict),
2 usage error. Check ids: talos-mac doctor --list-checks; docs/checks.md.`;

const KERNEL_EXAMPLES = `
Examples:
  $ talos-mac kernel build-module --load --install     kvm-pr for the running kernel
  $ talos-mac kernel build-module --dry-run --load     build, then show what loading would run
  $ talos-mac kernel build-module --kernel-src /usr/src/linux-source-6.1.tar.xz \\
      --release 6.1.0-50-powerpc64le --config config-6.1.0-50-powerpc64le --cross powerpc64le-linux-gnu-
  $ talos-mac kernel configure-kernel                  show what a KVM-PR kernel would change
  $ talos-mac kernel build-kernel --reduce-to-host     only what this host has loaded (far faster)
  $ talos-mac kernel fetch-source 6.1.176              kernel.org tarball, checksum verified`;

const SETUP_EXAMPLES = `
Examples:
  $ talos-mac setup                       the plan, one question, then the host steps and a guest
  $ talos-mac setup --yes                 unattended: install QEMU and its tools, then boot the demo guest
  $ talos-mac setup --yes --without-files --without-live-share   QEMU, its ROMs and xorriso only
  $ talos-mac setup --dry-run             the plan and the exact commands; nothing changes
  $ talos-mac setup --yes --os tiger --cdrom tiger.iso    unattended, ending with a Tiger guest
  $ talos-mac setup --yes --build-kernel  also build a kernel that can do KVM-PR (hours)
  $ talos-mac setup --json --dry-run      the plan as JSON (talos-mac/schema SetupReportSchema)
  $ talos-mac setup --undo                show what setup changed, ask, revert it (from its record)
  $ talos-mac setup --dry-run --snapshot report/   the plan for a captured host
  $ talos-mac setup --root /mnt --dry-run   the plan for a mounted system's files (applying it would
                                          run update-grub and modprobe on this machine: docs/setup.md)

Without a terminal setup asks nothing: it uses the flags, or names every missing one and stops.
Exit status: 0 done, 1 a step failed or is still open, 2 usage error (or a missing flag),
3 reboot needed (then run setup again).`;

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('talos-mac')
    .description('Turn a POWER9 Linux workstation into a PowerPC Mac: KVM-PR host setup and Mac OS 9 / OS X guests in QEMU mac99.')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac doctor          what this host lacks for KVM-PR, and the exact fix
  $ talos-mac doctor --json   the same, for scripts
  $ talos-mac demo            boot a tiny self-made Mac disk: proves QEMU and talos-mac work here
  $ talos-mac create tiger --os tiger --cdrom tiger.iso && talos-mac launch tiger --install`,
    );

  program
    .command('doctor')
    .description('diagnose this host for KVM-PR Mac guests (changes nothing)')
    .argument('[checks...]', 'check ids or categories to run (default: all)')
    .option('--json', 'print one JSON document (schema: docs/checks.md)')
    .option('-v, --verbose', 'show the evidence behind every check')
    .option('-q, --quiet', 'show only problems and the verdict')
    .option('--strict', 'warnings fail too (exit 1)')
    .option('--list-checks', 'list check ids and exit')
    .addOption(new Option('--snapshot <dir>', 'diagnose a host snapshot instead of this machine').conflicts('collect'))
    .option('--collect <dir>', 'also write a snapshot of everything read to <dir> (new or empty)')
    .addHelpText('after', DOCTOR_EXAMPLES)
    .action(async (ids: string[], opts: import('./doctor.js').DoctorOptions) => {
      const { doctorCommand } = await import('./doctor.js');
      setExit(await doctorCommand(ids, opts));
    });

  program
    .command('setup')
    .description('the wizard: install QEMU and its tools, fix this host for KVM-PR (hash MMU, kernel, kvm_pr, /dev/kvm), then create a Mac OS guest or boot the demo guest')
    .option('-y, --yes', 'accept the plan without asking (unattended; kvm_hv is never blacklisted, no kernel build, no guest unless --os, 7-Zip and rclone yes, a window module only with a desktop session)')
    .option('-n, --dry-run', 'print the plan and the exact commands; change nothing')
    .option('--undo', 'show what talos-mac changed (from its record), ask, revert it newest first')
    .option('--user <name>', 'the user to give /dev/kvm access (default: you, or SUDO_USER)')
    .addOption(new Option('--kvm-hv <choice>', 'what to do with a loaded kvm_hv (default: ask)').choices(['keep', 'unload', 'blacklist']))
    .option('--root <dir>', 'read and change files under <dir> instead of / (commands still act on this machine: use with --dry-run for a mounted system)')
    .option('--snapshot <dir>', 'with --dry-run: the plan for a host snapshot')
    .option('--build-kernel', 'when this kernel cannot do KVM-PR, build and install one (takes hours; asked otherwise)')
    .option('--skip-kernel', 'leave the kernel as it is (guests run under TCG until it can do KVM-PR)')
    .option('--kernel-hook', 'install a kernel post-install hook that notes new distribution kernels (it never builds; --undo removes it)')
    .option('--os <os>', 'create a guest of this Mac OS at the end (e.g. tiger, 10.4, os9)')
    .option('--name <name>', 'the guest\'s name (default: the codename, e.g. tiger)')
    .option('--ram <mb>', 'the guest\'s RAM in MiB (default per OS, at most 2048)')
    .option('--disk-size <size>', 'the size of the guest\'s new disk, e.g. 20G (default per OS)')
    .option('--cdrom <path>', 'install CD/DVD image: checked to be a PowerPC Mac boot disc')
    .option('--net <mode>', 'the guest\'s network: user | none | tap:IFACE (default user)')
    .option('--no-guest', 'create no guest (and ask nothing about one)')
    .option('--no-demo', 'without a guest to create, setup ends by booting the demo guest: not this time')
    .addOption(new Option('--with-files', "also install 7-Zip, for `files` and `media check` (default: asked; --yes: yes)").conflicts('withoutFiles'))
    .option('--without-files', 'leave 7-Zip out')
    .addOption(new Option('--with-live-share', 'also install rclone, for `share NAME DIR --live` (WebDAV for Mac OS X guests; default: asked; --yes: yes)').conflicts('withoutLiveShare'))
    .option('--without-live-share', 'leave rclone out')
    .addOption(new Option('--with-window', "also install QEMU's window module (default: only where a desktop session exists)").conflicts('withoutWindow'))
    .option('--without-window', "leave QEMU's window module out")
    .option('--json', 'print the plan and the results as one JSON document (schema: talos-mac/schema SetupReportSchema)')
    .addHelpText('after', SETUP_EXAMPLES)
    .action(async (opts: import('./setup.js').SetupOptions) => {
      const { setupCommand } = await import('./setup.js');
      setExit(await setupCommand(opts));
    });

  registerGuestCommands(program, setExit);

  const kernel = program
    .command('kernel')
    .description('build kvm-pr for a kernel, or configure a new kernel that can do KVM-PR (see docs/kernel.md)')
    .addHelpText('after', KERNEL_EXAMPLES);
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  const buildOptions = (c: Command) =>
    c
      .option('--kernel-src <dir|tarball>', 'kernel source tree or tarball (default: /usr/src/linux-source-X.Y.tar.xz)')
      .option('--release <release>', 'the kernel release to build for (default: uname -r)')
      .option('--config <file>', "that kernel's configuration (default: /boot/config-<release>, /usr/lib/modules/<release>/config, or /proc/config.gz for the running kernel)")
      .option('--cross <prefix>', 'cross-compile, e.g. powerpc64le-linux-gnu- (sets ARCH=powerpc)')
      .option('--arch <arch>', 'Kbuild ARCH (default: powerpc when cross-compiling)')
      .option('-j, --jobs <n>', 'parallel make jobs (default: CPUs - 1)')
      .option('--patch <name|file>', 'apply a patch from patches/ or a file (repeatable)', collect)
      .option('--cache-dir <dir>', 'where sources and builds are kept (default: $XDG_CACHE_HOME/talos-mac/kernel)');
  buildOptions(kernel.command('build-module').description('build kvm.ko + kvm-pr.ko for a kernel that supports KVM-PR (vermagic checked)'))
    .option('--symvers <file>', "the distro's Module.symvers (default: looked up under /lib/modules/<release>/build)")
    .option('--no-symvers', 'use no Module.symvers')
    .option('--load', 'load the built modules (unloads the old kvm modules first)')
    .option('--install', 'install them under /lib/modules/<release>/updates/ and run depmod')
    .option('--dry-run', 'print the commands that change the system instead of running them')
    .action(async (opts: import('./kernel.js').BuildModuleOptions) => {
      const { buildModuleCommand } = await import('./kernel.js');
      setExit(await buildModuleCommand(opts));
    });
  const reduceOptions = (c: Command) =>
    c
      .option('--reduce-to-host', "keep only the modules this host has loaded (/proc/modules), like make localmodconfig; KVM-PR is always kept")
      .option('--reduce-modules <file>', 'the same, from a saved lsmod or /proc/modules list (e.g. of the machine the kernel is for)');
  reduceOptions(buildOptions(kernel.command('configure-kernel').description("configure the distro kernel source with the running config + KVM-PR, and show the difference by cause")))
    .option('--local-version <suffix>', 'release suffix marking the kernel as ours', '-talosmac')
    .option('--json', 'print the grouped difference, the signing decision and the cost as JSON')
    .action(async (opts: import('./kernel.js').ConfigureKernelOptions) => {
      const { configureKernelCommand } = await import('./kernel.js');
      setExit(await configureKernelCommand(opts));
    });
  reduceOptions(buildOptions(kernel.command('build-kernel').description('build, package and install the distro kernel with KVM-PR (long: see the cost it prints); reboot after')))
    .option('--local-version <suffix>', 'release suffix marking the kernel as ours', '-talosmac')
    .option('--image-only', 'build vmlinux and the modules only (installed under the build directory), for booting elsewhere; nothing is packaged or installed')
    .option('--accept-build-machine-differences', "build even when options differ from the running kernel's because of this build machine (e.g. another compiler major); they are printed")
    .option('--dry-run', 'print the install commands instead of running them (the build still runs)')
    .action(async (opts: import('./kernel.js').ConfigureKernelOptions & { dryRun?: boolean }) => {
      const { buildKernelCommand } = await import('./kernel.js');
      setExit(await buildKernelCommand(opts));
    });
  kernel
    .command('fetch-source')
    .description('download a kernel.org tarball and verify its SHA-256')
    .argument('<version>', 'e.g. 6.1.176')
    .option('--cache-dir <dir>', 'download directory parent (default: $XDG_CACHE_HOME/talos-mac/kernel)')
    .action(async (version: string, opts: { cacheDir?: string }) => {
      const { fetchSourceCommand } = await import('./kernel.js');
      setExit(await fetchSourceCommand(version, opts));
    });

  return program;
}

const OS_HELP = 'os9, rhapsody, 10.0 (cheetah), 10.1 (puma), 10.2 (jaguar), 10.3 (panther), 10.4 (tiger), 10.5 (leopard)';

function registerGuestCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('create')
    .description('define a guest and create its disk (qcow2; never overwrites)')
    .argument('<name>', 'guest name: letters, digits, ".", "_", "-"')
    .requiredOption('--os <os>', `the Mac OS: ${OS_HELP}`)
    .option('--ram <mb>', 'RAM in MiB (at most 2048: mac99 limit; default per OS)')
    .option('--disk-size <size>', 'size of the new disk, 1M to 2T, e.g. 20G (default per OS)')
    .option('--disk <path>', 'use an existing disk image (qcow2 or another format qemu-img knows) instead of creating one')
    .option('--raw', 'with --disk: the image is raw data (no header), and that is meant')
    .option('--share-disk', "with --disk: the image is already another guest's, share it knowingly (never run both at once)")
    .option('--cdrom <path>', 'installer CD/DVD image')
    .option('--cpu <name>', 'CPU model, e.g. g3, g4, 7410 (default per OS and accelerator)')
    .option('--net <mode>', 'user | tap:IFACE | none', 'user')
    .option('--nic <model>', 'sungem | rtl8139 (default per OS)')
    .option('--resolution <WxH>', 'firmware screen, e.g. 1024x768 or 1024x768x32')
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac create tiger --os tiger --cdrom ~/isos/tiger.iso
  $ talos-mac create os9 --os 9.2 --ram 512 --disk-size 4G --cdrom "OS 9.2.iso"
  $ talos-mac create leo --os leopard --disk ~/old/leopard.qcow2 --net tap:tap0

The definition goes to $XDG_CONFIG_HOME/talos-mac/guests/NAME.toml (commented, editable),
the disk to $XDG_DATA_HOME/talos-mac/NAME.qcow2. See docs/guests.md.`,
    )
    .action(async (name: string, opts: import('../guests/create.js').CreateOptions) => {
      const { createCommand } = await import('./create.js');
      setExit(await createCommand(name, opts));
    });

  program
    .command('list')
    .description('list guests')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ talos-mac list\n  $ talos-mac list --json | jq -r ".[].name"')
    .action(async (opts: { json?: boolean }) => {
      const { listCommand } = await import('./list.js');
      setExit(await listCommand(opts));
    });

  program
    .command('show')
    .description("show a guest's definition and its OS's notes")
    .argument('<name>', 'guest name (see talos-mac list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ talos-mac show tiger\n  $ talos-mac show tiger --json')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { showCommand } = await import('./show.js');
      setExit(await showCommand(name, opts));
    });

  program
    .command('rm')
    .description('remove a guest definition (the disk is kept unless --delete-disk)')
    .argument('<name>', 'guest name (see talos-mac list)')
    .option('--delete-disk', 'also delete the disk image (asks first)')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nExamples:\n  $ talos-mac rm tiger                      definition only; the disk stays\n  $ talos-mac rm tiger --delete-disk --yes')
    .action(async (name: string, opts: import('./rm.js').RmOptions) => {
      const { rmCommand } = await import('./rm.js');
      setExit(await rmCommand(name, opts));
    });

  program
    .command('launch')
    .description('boot a guest in QEMU mac99 (KVM-PR when the host is ready, else TCG)')
    .argument('<name>', 'guest name (see talos-mac list)')
    .argument('[qemu-args...]', 'after --: raw arguments appended to the QEMU command')
    .option('--accel <mode>', 'auto | kvm | tcg', 'auto')
    .option('--install', 'boot the installer CD (under TCG unless --accel kvm)')
    .option('--checkpoint', 'with --install on a disk that holds data: save a checkpoint first without asking')
    .option('--no-checkpoint', 'with --install: do not save one (default: ask on a terminal, save one without)')
    .option('--force', 'with --accel kvm: try an OS or CPU not known to work under KVM-PR')
    .option('--display <mode>', 'auto (a window where one can open, else VNC on localhost) | window | vnc[=HOST:N] (default 127.0.0.1, first free display) | serial (firmware console on this terminal) | none', 'auto')
    .option('--print-cmd', 'print the QEMU command instead of running it')
    .option('--json', 'with --print-cmd: the argv as a JSON array')
    .option('--detach', 'run in the background, still restarted after guest resets (talos-mac status/stop/kill NAME)')
    .option('--paused', 'start with the CPU stopped (QEMU -S)')
    .option('--sound', 'sound through the mac99 Screamer chip (only QEMU builds that carry it; doctor check qemu.sound)')
    .option('--timeout <seconds>', 'stop QEMU after this long')
    .option('--snapshot <dir>', "check QEMU and decide KVM-PR against a host snapshot (doctor --collect) instead of this machine")
    .addOption(new Option('--host-snapshot <dir>', 'old name of --snapshot (accepted until 0.3)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac launch tiger                   boot the disk (KVM-PR if ready, else TCG; says why)
  $ talos-mac launch tiger --display window  a window, or a refusal saying why not (ssh: use ssh -X or --display vnc)
  $ talos-mac launch tiger --display vnc=127.0.0.1:3   VNC on port 5903
  $ talos-mac launch tiger --install         boot the installer CD under TCG
                                             (a disk with data: a checkpoint is offered first)
  $ talos-mac launch tiger --print-cmd       the exact QEMU command, copy-pasteable (without -no-reboot: see below)
  $ talos-mac launch tiger --display vnc     no window here (ssh, no GUI module): a VNC server on localhost
  $ talos-mac launch os9 --sound             sound, on a QEMU build with the Screamer chip (doctor qemu.sound)
  $ talos-mac launch tiger --detach          in the background; then talos-mac status tiger
  $ talos-mac launch tiger -- -d guest_errors   extra QEMU arguments

A restart inside the guest comes back: launch starts a fresh QEMU (same command) after each guest
reset and counts it; more than 5 resets in 60 s stop the launch. With --detach a background
talos-mac process does the same (its pid is printed; its messages go to the log).
QEMU's messages go to $XDG_STATE_HOME/talos-mac/logs/NAME.log; known errors are explained.`,
    )
    .action(async (name: string, extra: string[], opts: import('./launch.js').LaunchFlags) => {
      const { launchCli, qemuWords } = await import('./launch.js');
      // rawArgs (commander sets it in parse(), untyped): where the literal -- was.
      setExit(await launchCli(name, qemuWords((program as Command & { rawArgs: string[] }).rawArgs, extra), opts));
    });

  program
    .command('status')
    .description('is a guest running? (exit 0 running, 1 not)')
    .argument('<name>', 'guest name (see talos-mac list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ talos-mac status tiger\n  $ talos-mac status tiger --json')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { statusCommand } = await import('./status.js');
      setExit(await statusCommand(name, opts));
    });

  program
    .command('screenshot')
    .description("save a running guest's screen as a PNG (QMP screendump)")
    .argument('<name>', 'guest name (see talos-mac list)')
    .argument('[file]', 'where to save it, ending in .png (default: NAME-YYYYmmdd-HHMMSS.png here)')
    .option('--force', 'replace FILE if it exists')
    .addHelpText(
      'after',
      '\nExamples:\n  $ talos-mac screenshot tiger                 tiger-20260101-120000.png in this folder\n  $ talos-mac screenshot tiger ~/shots/boot.png\n  $ talos-mac screenshot tiger boot.png --force   replace boot.png\n\nExit status: 0 saved, 1 the guest is not running (or QEMU could not), 2 usage error (FILE exists, not .png).',
    )
    .action(async (name: string, file: string | undefined, opts: { force?: boolean }) => {
      const { screenshotCommand } = await import('./screenshot.js');
      setExit(await screenshotCommand(name, file, opts));
    });

  // launch --detach runs the guest in this hidden command (src/launch/supervise.ts).
  program
    .command('_supervise', { hidden: true })
    .argument('<spec>')
    .action(async (spec: string) => {
      const { superviseCommand } = await import('../launch/supervise.js');
      setExit(await superviseCommand(spec));
    });

  program
    .command('stop')
    .description('quit a running guest\'s QEMU cleanly (QMP quit; shut the guest OS down first)')
    .argument('<name>', 'guest name (see talos-mac list)')
    .addHelpText('after', '\nExamples:\n  $ talos-mac stop tiger')
    .action(async (name: string) => {
      const { stopCommand } = await import('./stop.js');
      setExit(await stopCommand(name));
    });

  program
    .command('kill')
    .description("kill a guest's QEMU at once (SIGKILL), when stop gets no answer")
    .argument('<name>', 'guest name (see talos-mac list)')
    .addHelpText('after', '\nExamples:\n  $ talos-mac kill tiger')
    .action(async (name: string) => {
      const { killCommand } = await import('./kill.js');
      setExit(await killCommand(name));
    });

  program
    .command('checkpoint')
    .description("save, list, restore or delete checkpoints of a guest's qcow2 disk (the guest must be off)")
    .argument('<name>', 'guest name (see talos-mac list)')
    .argument('<action>', 'save | list | restore | delete')
    .argument('[tag]', 'the checkpoint name (save: default the date and time, e.g. 2026-12-02-154501)')
    .option('--json', 'with list: print JSON')
    .option('-y, --yes', 'with delete: do not ask')
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac checkpoint tiger save before-update   the disk as it is now
  $ talos-mac checkpoint tiger list
  $ talos-mac checkpoint tiger restore before-update   (the state it replaces is kept as before-restore-…)
  $ talos-mac checkpoint tiger delete before-update --yes

Checkpoints are qcow2 internal snapshots (qemu-img snapshot); a raw disk cannot hold them.
Exit status: 0 done, 1 refused (the guest is running, a raw disk) or qemu-img failed, 2 usage error.`,
    )
    .action(async (name: string, action: string, tag: string | undefined, opts: import('./checkpoint.js').CheckpointFlags) => {
      const { checkpointCommand } = await import('./checkpoint.js');
      setExit(await checkpointCommand(name, action, tag, opts));
    });

  program
    .command('media')
    .description('is a file a PowerPC Mac boot disc, and which Mac OS does it look like? (reads only)')
    .argument('<action>', 'check')
    .argument('<file>', 'a disc image (.iso, .cdr, .toast, .img), a disc drive (/dev/sr0) or a qcow2 disk')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac media check ~/isos/tiger.iso
  $ talos-mac media check /dev/sr0             the disc in the drive
  $ talos-mac media check tiger.iso --json | jq .looksLike

Reads the partition map and volume headers, and Mac OS X's System/Library/CoreServices/SystemVersion.plist
with 7-Zip when it is installed. Nothing is downloaded; talos-mac show NAME says where discs come from.
Exit status: 0 a bootable Mac disc (a blessed HFS/HFS+ volume), 1 not one (a PC disc, a data disc,
random bytes), 2 bad input (no such file, a folder, unreadable).`,
    )
    .action(async (action: string, file: string, opts: { json?: boolean }) => {
      const { mediaCommand } = await import('./media.js');
      setExit(await mediaCommand(action, file, opts));
    });

  program
    .command('share')
    .description('share a folder with a guest as a read-only HFS+ CD, attached at its next launch')
    .argument('<name>', 'guest name (see talos-mac list)')
    .argument('[dir]', 'the folder to share (its contents as they are now)')
    .option('--refresh', 'build the CD again from the same folder (after changing it)')
    .option('--off', 'stop sharing: detach the CD at the next launch and delete its image')
    .option('--label <name>', 'the CD name the guest shows (default: the folder name; at most 27 characters)')
    .option('--live', 'instead of a CD: the folder read and written by the guest while it runs (WebDAV for Mac OS X), from its next launch; with --off: stop')
    .option('--json', 'with NAME alone: what is shared, as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac share tiger ~/for-tiger          the folder as a CD "for-tiger" at the next launch
  $ talos-mac share tiger --refresh            after changing the folder
  $ talos-mac share tiger                      what is shared
  $ talos-mac share tiger --off
  $ talos-mac share tiger ~/exchange --live    read-write while tiger runs: Finder, Go → Connect to Server, http://10.0.2.100/
  $ talos-mac share tiger --live --off

The image ($XDG_DATA_HOME/talos-mac/NAME-share.iso) is built with xorriso: HFS+ with an Apple
partition map, and ISO 9660. Refused: special files, links out of the folder or to folders, files
over 4 GiB. To get files back out of the guest: talos-mac files NAME get. A live share is served
by rclone serve webdav on 127.0.0.1 with a password made for each launch (shown by launch and
status); the guest reaches it at 10.0.2.100 through QEMU's user network (docs/guests.md).`,
    )
    .action(async (name: string, dir: string | undefined, opts: import('./share.js').ShareFlags) => {
      const { shareCommand } = await import('./share.js');
      setExit(await shareCommand(name, dir, opts));
    });

  program
    .command('files')
    .description("list or copy files out of a guest's disk while it is off (read with 7-Zip; the disk is never written)")
    .argument('<name>', 'guest name (see talos-mac list)')
    .argument('<action>', 'ls [PATH] | get PATH DEST')
    .argument('[paths...]', 'the path in the guest (from the volume top, e.g. /Users/me), and for get where to put it')
    .option('--json', 'with ls: print JSON')
    .option('--force', 'with get: replace existing files in DEST (never folders or links)')
    .option('--volume <n|name>', 'which Mac volume, when the disk has several (a partition number or name)')
    .option('--temp-dir <dir>', 'where the temporary copy of the volume goes (default: beside DEST; for ls the cache)')
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac files tiger ls /Users/me/Documents
  $ talos-mac files tiger get /Users/me/Documents/report.txt ~/from-tiger/
  $ talos-mac files tiger get "/Users/me/Documents" ~/tiger-docs      a folder, with what it holds

Needs 7-Zip (Debian/Ubuntu: sudo apt-get install 7zip). Data forks only: resource forks and links
are not copied (links are named). Nothing in DEST is overwritten without --force.
Exit status: 0 done, 1 refused (the guest is running, no Mac volume) or a tool failed, 2 usage error.`,
    )
    .action(async (name: string, action: string, paths: string[], opts: import('./files.js').FilesFlags) => {
      const { filesCommand } = await import('./files.js');
      setExit(await filesCommand(name, action, paths, opts));
    });

  program
    .command('demo')
    .description('boot a tiny self-made Mac disk (no Mac OS media needed) on the serial console')
    .option('--accel <mode>', 'auto | kvm | tcg', 'tcg')
    .option('--timeout <seconds>', 'give up after this long', '60')
    .option('--print-cmd', 'print the QEMU command instead of running it')
    .option('--json', 'with --print-cmd: the argv as a JSON array')
    .option('--image <path>', 'boot this demo image instead of building one (for hosts without xorriso)')
    .addOption(new Option('--work-dir <dir>', 'build the demo image here and keep it').hideHelp())
    .option('--snapshot <dir>', "check QEMU and decide KVM-PR against a host snapshot (doctor --collect) instead of this machine")
    .addOption(new Option('--host-snapshot <dir>', 'old name of --snapshot (accepted until 0.3)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ talos-mac demo                 TCG: firmware output, which device it booted from, exit 0
  $ talos-mac demo --accel kvm     on a POWER9 host ready for KVM-PR
  $ talos-mac demo --image ~/.cache/talos-mac/demo-disk-*.qcow2   an image built on another machine

Needs qemu-system-ppc, qemu-img and xorriso.`,
    )
    .action(async (opts: import('./demo.js').DemoFlags) => {
      const { demoCli } = await import('./demo.js');
      setExit(await demoCli(opts));
    });
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return exitCode;
    if (err instanceof UserError) {
      // A message may quote a name from a disc or a hand-edited definition (ui/escape.ts).
      process.stderr.write(`talos-mac: ${shownLines(err.message)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`talos-mac: internal error: ${(err as Error).stack ?? String(err)}\nPlease report this at the project's issue tracker.\n`);
    return EXIT.INTERNAL;
  }
}
