import { shellLine } from '../ui/shell-quote.js';
import { UserError } from '../errors.js';

/**
 * The one door for commands that change the host (modprobe, insmod, depmod, dpkg -i, install to
 * /lib/modules). The kernel pipeline only talks to this interface; `fromProjectRunner` plugs in
 * the project-wide privileged runner (src/privileged/runner.ts) without src/kernel/ importing it.
 */
export interface KernelRunner {
  /** Dry run: mutating commands are only printed, and builds only described (never started). */
  readonly dryRun: boolean;
  run(argv: readonly string[], opts: { mutating: boolean }): Promise<KernelRunResult>;
  /** Says what a step would do, in the runner's voice (dry-run plans). */
  describe(line: string): void;
}

export interface KernelRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when dry-run printed the command instead of running it. */
  skipped?: boolean;
}

export interface SimpleRunnerOptions {
  dryRun?: boolean;
  /** Where each mutating command is announced before it runs (default: stderr). */
  print?: (line: string) => void;
  /** Prefix mutating commands with sudo when not root (default: true). */
  sudo?: boolean;
}

/** The shape of the project's PrivilegedRunner that the kernel pipeline needs (structural, no import). */
export interface ProjectRunnerLike {
  readonly dryRun: boolean;
  describe(line: string): void;
  run(argv: readonly string[], opts?: { allowFailure?: boolean }): Promise<{ exitCode: number | null; stdout: string; stderr: string }>;
}

/** Mutating commands go to the project runner (it prints, sudo, dry-run); read-only ones run here. */
export function fromProjectRunner(project: ProjectRunnerLike): KernelRunner {
  const local = simpleRunner({ dryRun: false });
  return {
    dryRun: project.dryRun,
    describe: (line) => project.describe(line),
    async run(argv, { mutating }) {
      if (!mutating) return local.run(argv, { mutating: false });
      // A failure is thrown by the project runner, naming the command with its last lines of output.
      const r = await project.run(argv);
      return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr, ...(project.dryRun ? { skipped: true } : {}) };
    },
  };
}


/** A stand-in until the project-wide runner is wired in: prints, honours dry-run, uses sudo when not root. */
export function simpleRunner(options: SimpleRunnerOptions = {}): KernelRunner {
  const print = options.print ?? ((line: string) => process.stderr.write(line + '\n'));
  return {
    dryRun: options.dryRun ?? false,
    describe: (line) => print(`${options.dryRun ? '(dry run) would: ' : ''}${line}`),
    async run(argv, { mutating }) {
      if (argv.length === 0) throw new Error('privileged run: empty argv');
      const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      const full = mutating && !asRoot && options.sudo !== false ? ['sudo', ...argv] : [...argv];
      if (mutating) print(`${options.dryRun ? '(dry run) would run' : 'running'}: ${shellLine(full)}`);
      if (mutating && options.dryRun) return { exitCode: 0, stdout: '', stderr: '', skipped: true };
      const { execa } = await import('execa');
      const r = await execa(full[0]!, full.slice(1), { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
      if ((r as { code?: string }).code === 'ENOENT') return { exitCode: 127, stdout: '', stderr: `${full[0]}: not found` };
      return { exitCode: typeof r.exitCode === 'number' ? r.exitCode : 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
    },
  };
}

/** Run and turn a non-zero exit into a clear error naming the command. */
export async function runOrFail(runner: KernelRunner, argv: readonly string[], mutating = true): Promise<KernelRunResult> {
  const r = await runner.run(argv, { mutating });
  if (r.exitCode !== 0) {
    const msg = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new UserError(`\`${shellLine(argv)}\` failed (exit ${r.exitCode})${msg ? `:\n${msg}` : ''}`, 1);
  }
  return r;
}
