/**
 * QEMU's stderr turned into plain sentences with a fix. Patterns are the real messages of
 * qemu-system-ppc 7.2 (fixtures/qemu-7.2/errors/) and the mac99 KVM failure without kvm_pr
 * (fixtures/power9/pr-kernel-6.1.176-radix/probe-transcript.txt).
 */
export interface KnownError {
  id: string;
  /** What went wrong, in one sentence. */
  message: string;
  fix: string;
}

interface Rule {
  id: string;
  test: RegExp;
  explain(m: RegExpExecArray, ctx: ErrorContext): Omit<KnownError, 'id'>;
}

export interface ErrorContext {
  /** The definition file, for fixes that edit it. */
  file?: string;
  name?: string;
}

const edit = (ctx: ErrorContext, what: string): string => (ctx.file ? `Fix ${what} in ${ctx.file}.` : `Fix ${what}.`);

const RULES: Rule[] = [
  {
    id: 'qemu-missing',
    test: /spawn (\S+) ENOENT|cannot run (\S+): .*ENOENT/,
    explain: (m) => {
      const program = m[1] ?? m[2] ?? 'qemu-system-ppc';
      // The package comes from this system's row of the distribution table, which doctor reads.
      const how = program === 'taskset' ? "Install it with your distribution's package manager (util-linux has it)" : 'Install QEMU for PowerPC (`talos-mac doctor qemu.binary` shows the command for this system)';
      return { message: `${program} is not installed (not found on PATH).`, fix: `${how} and run \`talos-mac doctor\`.` };
    },
  },
  {
    id: 'kvm-pr-missing',
    test: /KVM_CREATE_VM\) failed: 22|PPC KVM module is not loaded/,
    explain: () => ({
      message: 'KVM could not create a VM: mac99 always asks for a KVM-PR VM, and the kvm_pr module is not loaded (having /dev/kvm is not enough).',
      fix: 'Load it with `sudo modprobe kvm_pr` (this needs the hash MMU: see `talos-mac doctor`), or launch with --accel tcg.',
    }),
  },
  {
    id: 'kvm-denied',
    test: /Could not access KVM kernel module: Permission denied|failed to initialize kvm: Permission denied/,
    explain: () => ({ message: 'This user may not use /dev/kvm.', fix: 'Run `talos-mac doctor kvm.device` for the fix (usually: join the kvm group and log in again), or use --accel tcg.' }),
  },
  {
    id: 'no-kvm-accel',
    test: /invalid accelerator kvm|Could not access KVM kernel module: No such file|no accelerator found/,
    explain: () => ({ message: 'This QEMU cannot use KVM on this host (no KVM here, or QEMU built without it).', fix: 'Launch with --accel tcg (or --accel auto), and see `talos-mac doctor`.' }),
  },
  {
    id: 'disk-locked',
    test: /(?:file=((?:[^,]|,,)*)[^:\n]*: )?Failed to get "(?:write|read)" lock/,
    explain: (m) => ({
      message: `The disk${m[1] ? ` ${m[1].replaceAll(',,', ',')}` : ''} is in use by another running QEMU: a guest using it is already running.`,
      fix: 'Find it with `talos-mac list` (and stop it with `talos-mac stop NAME`); two guests cannot share one disk.',
    }),
  },
  {
    id: 'pidfile-locked',
    test: /cannot create PID file: Cannot lock pid file/,
    explain: (_m, ctx) => ({ message: `${ctx.name ? `Guest ${ctx.name}` : 'This guest'} is already running.`, fix: ctx.name ? `See \`talos-mac status ${ctx.name}\`.` : 'Stop it first.' }),
  },
  {
    id: 'ram-too-big',
    test: /RAM size more than 2 GiB is not supported/,
    explain: (_m, ctx) => ({ message: 'mac99 supports at most 2 GiB of RAM.', fix: edit(ctx, 'the ram line (at most 2048)') }),
  },
  {
    id: 'bad-cpu',
    test: /unable to find CPU model '([^']*)'/,
    explain: (m, ctx) => ({ message: `This QEMU has no CPU model ${JSON.stringify(m[1])}.`, fix: `${edit(ctx, 'the cpu line')} Mac CPUs: g3, g4, 7410 (nitro), 7450, 7447a; \`qemu-system-ppc -cpu help\` lists all.` }),
  },
  {
    id: 'bad-via',
    test: /Invalid via value/,
    explain: () => ({ message: 'This QEMU rejected the mac99 via= setting.', fix: 'Valid values are cuda, pmu, pmu-adb; check any raw arguments given after --.' }),
  },
  {
    id: 'no-mac99',
    test: /unsupported machine type/,
    explain: () => ({ message: 'This qemu-system-ppc has no mac99 machine.', fix: "Install your distribution's full QEMU for PowerPC (`talos-mac doctor qemu.binary` shows the command for this system) and run `talos-mac doctor`." }),
  },
  {
    id: 'file-missing',
    test: /Could not open '([^']*)': No such file or directory/,
    explain: (m, ctx) => ({ message: `The image ${m[1]} does not exist.`, fix: edit(ctx, 'the disk or cdrom path') }),
  },
  {
    id: 'file-denied',
    test: /Could not open '([^']*)': Permission denied/,
    explain: (m) => ({ message: `QEMU may not open ${m[1]}.`, fix: 'Check the file\'s owner and permissions.' }),
  },
  {
    id: 'tap',
    test: /could not (?:configure|open) \/dev\/net\/tun(?: \(([^)]*)\))?[^\n]*|tap: ([^\n]*)/,
    explain: (m) => {
      const dev = m[1] ?? 'tap0';
      return {
        message: `QEMU could not use the tap device ${dev}.`,
        fix: `Create it for your user: \`sudo ip tuntap add dev ${dev} mode tap user "$USER" && sudo ip link set ${dev} up\` (optionally add it to a bridge), or use net = "user".`,
      };
    },
  },
  {
    // Raw -device arguments can still ask for a ROM the checks did not cover (fixtures/qemu-7.2/errors/missing-*-rom.txt).
    id: 'rom-missing',
    test: /failed to find romfile "([^"]*)"/,
    explain: (m) => ({
      message: `QEMU could not find ${m[1]}, a ROM this command line needs.`,
      fix: `Run \`talos-mac doctor QEMU\`: it names the package (Debian: seabios for vgabios-*.bin, ipxe-qemu for efi-*.rom).`,
    }),
  },
  {
    id: 'no-display',
    test: /gtk initialization failed|Could not initialize SDL|could not connect to display|Display '[^']*' is not available/,
    explain: () => ({ message: 'QEMU could not open a window (no graphical display here).', fix: 'Run from a desktop session, or use --display vnc, --display serial (firmware console here) or --display none.' }),
  },
];

export function explainQemuError(stderr: string, ctx: ErrorContext = {}): KnownError | undefined {
  for (const rule of RULES) {
    const m = rule.test.exec(stderr);
    if (m) return { id: rule.id, ...rule.explain(m, ctx) };
  }
  return undefined;
}

/** The last lines of a log, for errors nobody taught talos-mac. */
export function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
