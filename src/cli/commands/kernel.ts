import { defineCommand, type OptionSpec } from '../command.js';
import type { BuildModuleOptions, ConfigureKernelOptions } from '../kernel.js';

const BUILD: readonly OptionSpec[] = [
  { flags: '--kernel-src <dir|tarball>', help: 'kernel source tree or tarball (default: /usr/src/linux-source-X.Y.tar.xz)', value: 'path' },
  { flags: '--release <release>', help: 'the kernel release to build for (default: uname -r)' },
  { flags: '--config <file>', help: "that kernel's configuration (default: /boot/config-<release>, /usr/lib/modules/<release>/config, or /proc/config.gz for the running kernel)", value: 'path' },
  { flags: '--cross <prefix>', help: 'cross-compile, e.g. powerpc64le-linux-gnu- (sets ARCH=powerpc)' },
  { flags: '--arch <arch>', help: 'Kbuild ARCH (default: powerpc when cross-compiling)' },
  { flags: '-j, --jobs <n>', help: 'parallel make jobs (default: CPUs - 1)' },
  { flags: '--patch <name|file>', help: 'apply a patch from patches/ or a file (repeatable)', value: 'path', repeatable: true },
  { flags: '--cache-dir <dir>', help: 'where sources and builds are kept (default: $XDG_CACHE_HOME/talos-mac/kernel)', value: 'dir' },
];

const REDUCE: readonly OptionSpec[] = [
  { flags: '--reduce-to-host', help: 'keep only the modules this host has loaded (/proc/modules), like make localmodconfig; KVM-PR is always kept' },
  { flags: '--reduce-modules <file>', help: 'the same, from a saved lsmod or /proc/modules list (e.g. of the machine the kernel is for)', value: 'path' },
];

const LOCAL_VERSION: OptionSpec = { flags: '--local-version <suffix>', help: 'release suffix marking the kernel as ours', default: '-talosmac' };

const buildModule = defineCommand<BuildModuleOptions>({
  name: 'build-module',
  summary: 'build kvm.ko + kvm-pr.ko for a kernel that supports KVM-PR (vermagic checked)',
  options: [
    ...BUILD,
    { flags: '--symvers <file>', help: "the distro's Module.symvers (default: looked up under /lib/modules/<release>/build)", value: 'path' },
    { flags: '--no-symvers', help: 'use no Module.symvers' },
    { flags: '--load', help: 'load the built modules (unloads the old kvm modules first)' },
    { flags: '--install', help: 'install them under /lib/modules/<release>/updates/ and run depmod' },
    { flags: '--dry-run', help: 'print the commands that change the system instead of running them' },
    { flags: '--json', help: 'print the built modules as JSON (talos-mac/schema KernelModuleReportSchema); progress goes to standard error' },
  ],
  exits: { OK: 'built (and loaded or installed, as asked)', FAILED: 'the build, loading or installing failed', USAGE: 'usage error (no configuration, a bad source)' },
  jsonSchema: 'KernelModuleReportSchema',
  async run({ opts }) {
    const { buildModuleCommand } = await import('../kernel.js');
    return buildModuleCommand(opts);
  },
});

const configureKernel = defineCommand<ConfigureKernelOptions>({
  name: 'configure-kernel',
  summary: 'configure the distro kernel source with the running config + KVM-PR, and show the difference by cause',
  options: [...BUILD, ...REDUCE, LOCAL_VERSION, { flags: '--json', help: 'print the grouped difference, the signing decision and the cost as JSON (talos-mac/schema KernelConfigureReportSchema)' }],
  exits: { OK: 'configured', FAILED: 'the configuration failed', USAGE: 'usage error' },
  jsonSchema: 'KernelConfigureReportSchema',
  async run({ opts }) {
    const { configureKernelCommand } = await import('../kernel.js');
    return configureKernelCommand(opts);
  },
});

const buildKernel = defineCommand<ConfigureKernelOptions & { dryRun?: boolean }>({
  name: 'build-kernel',
  summary: 'build, package and install the distro kernel with KVM-PR (long: see the cost it prints); reboot after',
  options: [
    ...BUILD,
    ...REDUCE,
    LOCAL_VERSION,
    { flags: '--image-only', help: 'build vmlinux and the modules only (installed under the build directory), for booting elsewhere; nothing is packaged or installed' },
    { flags: '--accept-build-machine-differences', help: "build even when options differ from the running kernel's because of this build machine (e.g. another compiler major); they are printed" },
    { flags: '--dry-run', help: 'print the install commands instead of running them (the build still runs)' },
    { flags: '--json', help: 'print what was built as JSON (talos-mac/schema KernelBuildReportSchema); progress goes to standard error' },
  ],
  exits: { OK: 'built (and installed, unless --image-only)', FAILED: 'the build or the install failed', USAGE: 'usage error' },
  jsonSchema: 'KernelBuildReportSchema',
  async run({ opts }) {
    const { buildKernelCommand } = await import('../kernel.js');
    return buildKernelCommand(opts);
  },
});

const fetchSource = defineCommand<{ cacheDir?: string; json?: boolean }>({
  name: 'fetch-source',
  summary: 'download a kernel.org tarball and verify its SHA-256',
  args: [{ name: '<version>', help: 'e.g. 6.1.176' }],
  options: [
    { flags: '--cache-dir <dir>', help: 'download directory parent (default: $XDG_CACHE_HOME/talos-mac/kernel)', value: 'dir' },
    { flags: '--json', help: 'print the tarball as JSON (talos-mac/schema KernelSourceReportSchema)' },
  ],
  exits: { OK: 'downloaded and verified', FAILED: 'the download or the checksum failed', USAGE: 'usage error (not a version)' },
  jsonSchema: 'KernelSourceReportSchema',
  async run({ args, opts }) {
    const { fetchSourceCommand } = await import('../kernel.js');
    return fetchSourceCommand(args[0] as string, opts);
  },
});

export default defineCommand({
  name: 'kernel',
  summary: 'build kvm-pr for a kernel, or configure a new kernel that can do KVM-PR (see docs/kernel.md)',
  subcommands: [buildModule, configureKernel, buildKernel, fetchSource],
  examples: [
    ['talos-mac kernel build-module --load --install', 'kvm-pr for the running kernel'],
    ['talos-mac kernel build-module --dry-run --load', 'build, then show what loading would run'],
    ['talos-mac kernel build-module --kernel-src /usr/src/linux-source-6.1.tar.xz \\\n      --release 6.1.0-50-powerpc64le --config config-6.1.0-50-powerpc64le --cross powerpc64le-linux-gnu-'],
    ['talos-mac kernel configure-kernel', 'show what a KVM-PR kernel would change'],
    ['talos-mac kernel build-kernel --reduce-to-host', 'only what this host has loaded (far faster)'],
    ['talos-mac kernel fetch-source 6.1.176', 'kernel.org tarball, checksum verified'],
  ],
});
