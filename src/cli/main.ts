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

const SETUP_EXAMPLES = `
Examples:
  $ talos-mac setup --dry-run             the plan: each step's state and the exact commands
  $ talos-mac setup                       verify, ask, apply, verify again, step by step
  $ talos-mac setup --yes                 unattended (kvm_hv is unloaded only if idle, never blacklisted)
  $ talos-mac setup --undo                revert what setup changed (from its record)
  $ talos-mac setup --dry-run --snapshot report/   the plan for a captured host
  $ talos-mac setup --root /mnt --yes     edit a mounted system's files (see docs/setup.md)

Exit status: 0 done (or stopped for a reboot), 1 a step failed or is still open, 2 usage error.`;

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

  program
    .command('setup')
    .description('fix this host for KVM-PR: hash MMU, kvm_pr, /dev/kvm access (asks before each change)')
    .option('-y, --yes', 'apply without asking (for unattended runs)')
    .option('-n, --dry-run', 'print the plan and the exact commands; change nothing')
    .option('--undo', 'revert what talos-mac setup changed, from its record')
    .option('--user <name>', 'the user to give /dev/kvm access (default: you, or SUDO_USER)')
    .addOption(new Option('--kvm-hv <choice>', 'what to do with a loaded kvm_hv (default: ask)').choices(['keep', 'unload', 'blacklist']))
    .option('--root <dir>', 'change files under <dir> (a mounted system or a sandbox) instead of /')
    .option('--snapshot <dir>', 'with --dry-run: the plan for a host snapshot')
    .addHelpText('after', SETUP_EXAMPLES)
    .action(async (opts: import('./setup.js').SetupOptions) => {
      const { setupCommand } = await import('./setup.js');
      setExit(await setupCommand(opts));
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
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return exitCode;
    if (err instanceof UserError) {
      process.stderr.write(`talos-mac: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`talos-mac: internal error: ${(err as Error).stack ?? String(err)}\nPlease report this at the project's issue tracker.\n`);
    return EXIT.INTERNAL;
  }
}
