import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../errors.js';
import { EXIT } from './exit-codes.js';
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
  $ talos-mac kernel fetch-source 6.1.176              kernel.org tarball, checksum verified`;

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
  $ talos-mac doctor --json   the same, for scripts`,
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

  const kernel = program
    .command('kernel')
    .description('build kvm-pr for a kernel, or configure a new kernel that can do KVM-PR (see docs/kernel.md)')
    .addHelpText('after', KERNEL_EXAMPLES);
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  const buildOptions = (c: Command) =>
    c
      .option('--kernel-src <dir|tarball>', 'kernel source tree or tarball (default: /usr/src/linux-source-X.Y.tar.xz)')
      .option('--release <release>', 'the kernel release to build for (default: uname -r)')
      .option('--config <file>', "that kernel's configuration (default: /boot/config-<release> or /proc/config.gz)")
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
  buildOptions(kernel.command('configure-kernel').description("configure the distro kernel source with the running config + KVM-PR, and show the difference"))
    .option('--local-version <suffix>', 'release suffix marking the kernel as ours', '-talosmac')
    .action(async (opts: import('./kernel.js').ConfigureKernelOptions) => {
      const { configureKernelCommand } = await import('./kernel.js');
      setExit(await configureKernelCommand(opts));
    });
  buildOptions(kernel.command('build-kernel').description('build, package and install the distro kernel with KVM-PR (long: see the cost it prints); reboot after'))
    .option('--local-version <suffix>', 'release suffix marking the kernel as ours', '-talosmac')
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
    if (err instanceof UserError) {
      process.stderr.write(`talos-mac: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`talos-mac: internal error: ${(err as Error).stack ?? String(err)}\nPlease report this at the project's issue tracker.\n`);
    return EXIT.INTERNAL;
  }
}
