import { constants } from 'node:fs';
import { privateTempDir } from '../host/temp-dir.js';
import { access, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { isPackageTool, type PackageManager } from '../distro/package-manager.js';
import { ChangeRecorder, KERNEL_RELEASE, moduleInstallDir, PACKAGE_NAME, STATE_DIR, type Change, type RecordedBy } from './record.js';
import { basename, dirname, join, posix } from 'node:path';
import { sha256 } from './sha256.js';
import { commandTimeoutMs, type CommandResult, type Host } from '../host/host.js';
import { UserError } from '../errors.js';
import { tempPathBeside, writeFileAtomic, writeNewFile } from './atomic-file.js';
import { shellLine } from '../ui/shell-quote.js';
import { pathInSnapshot } from '../host/snapshot-path.js';

export interface RunnerOptions {
  /** Print what would happen; change nothing. */
  dryRun: boolean;
  /** File changes happen under this directory ("/" for the running system). */
  root: string;
  /** Where the runner reports each command and file change, one line at a time. */
  out: (line: string) => void;
  /** Effective uid: 0 runs commands directly, anything else through sudo. */
  uid: number;
  /** May sudo ask for a password? Only when there is a terminal to ask on. */
  interactive: boolean;
  env?: NodeJS.ProcessEnv;
  /** Reads the files being replaced and answers the read-only questions (the command's host: src/host/open.ts). */
  host: Host;
  /**
   * Where talos-mac's own state (the record, backups: STATE_DIR) lives, when not under root: tests
   * that act on "the running system" through a sandbox keep it there, never in the machine's /var/lib.
   */
  stateRoot?: string;
}

export interface RunMutationOptions {
  /** A non-zero exit is reported to the caller instead of thrown. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/** A command's result, with stdout and stderr also interleaved as it printed them. */
export interface RunResult extends CommandResult {
  output: string;
}

/** How many lines of a failed command's output its error shows. */
export const FAILURE_TAIL_LINES = 15;

/**
 * Installing packages (a compiler, a kernel source tarball) can take many minutes on a slow mirror,
 * and killing apt-get or dnf midway leaves the package database half-configured: no short timeout.
 */
const PACKAGE_TIMEOUT_MS = 60 * 60_000;

type Installed = Extract<Change, { kind: 'packages-installed' | 'kernel-installed' }>;


/**
 * The one place where talos-mac changes the machine: every mutating command and every system-file
 * write goes through here, is printed first, runs through sudo when needed, and does nothing in dry-run.
 */
export class PrivilegedRunner {
  private sudoChecked = false;
  /** Every change made through the methods below is written here before it is made. */
  readonly recorder: ChangeRecorder = new ChangeRecorder(this);

  constructor(readonly options: RunnerOptions) {}

  /** Read-only questions about the system being changed (is a package installed? uname -r). */
  get host(): Host {
    return this.options.host;
  }

  /**
   * A command that changes the machine, recorded before it runs; `undo` is what `setup --undo`
   * runs for it. A command that fails (thrown, or a non-zero exit with allowFailure) is retracted.
   */
  async command(step: RecordedBy, argv: readonly string[], opts: { undo?: readonly string[]; allowFailure?: boolean } = {}): Promise<RunResult> {
    const entry = await this.recorder.start(step, { kind: 'command', argv: [...argv], ...(opts.undo ? { undo: [...opts.undo] } : {}) });
    let r: RunResult;
    try {
      r = await this.run(argv, { allowFailure: opts.allowFailure ?? false });
    } catch (err) {
      await this.recorder.retract(entry);
      throw err;
    }
    await (r.exitCode === 0 ? this.recorder.finish(entry) : this.recorder.retract(entry));
    return r;
  }

  /** A new file talos-mac owns, recorded so that `setup --undo` removes it (when still unchanged). */
  async createFile(step: RecordedBy, hostPath: string, data: Buffer, mode?: number): Promise<void> {
    await this.recorder.around(step, { kind: 'file-created', path: hostPath, sha256Written: sha256(data) }, () => this.writeFile(hostPath, data, mode === undefined ? {} : { newFileMode: mode }));
  }

  private async installed(pm: PackageManager, names: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const name of names) if ((await this.host.run(pm.query(name))).exitCode === 0) out.push(name);
    return out;
  }

  /**
   * Installs the packages not yet installed, recording only those (with the command that removes
   * them): packages that were there before talos-mac are never removed by its undo. Returns them.
   */
  async installPackages(step: RecordedBy, pm: PackageManager, names: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(names)];
    for (const n of wanted) if (!PACKAGE_NAME.test(n)) throw new Error(`not a package name: ${JSON.stringify(n)}`);
    const already = new Set(await this.installed(pm, wanted));
    const missing = wanted.filter((n) => !already.has(n));
    if (missing.length === 0) return [];
    const entry = (await this.recorder.start(step, { kind: 'packages-installed', packages: missing, remove: pm.remove(missing) })) as Installed;
    await this.installRecorded(entry, pm, pm.install(missing));
    return missing;
  }

  /**
   * Installs a kernel from package files, recording its packages so that `setup --undo` removes
   * them (never while it is the running kernel: see src/setup/undo.ts).
   */
  async installKernel(step: RecordedBy, pm: PackageManager, packageFiles: readonly string[], packageNames: readonly string[], release: string): Promise<void> {
    for (const n of packageNames) if (!PACKAGE_NAME.test(n)) throw new Error(`not a package name: ${JSON.stringify(n)}`);
    const entry = (await this.recorder.start(step, { kind: 'kernel-installed', release, packages: [...packageNames], remove: pm.remove(packageNames) })) as Installed;
    await this.installRecorded(entry, pm, pm.install(packageFiles));
  }

  /** Runs the install; when it fails, the record keeps just the packages that did get installed. */
  private async installRecorded(entry: Installed, pm: PackageManager, argv: string[]): Promise<void> {
    try {
      await this.runInstall(pm, argv);
    } catch (err) {
      const got = this.dryRun ? [] : await this.installed(pm, entry.packages);
      if (got.length === 0) await this.recorder.retract(entry);
      else {
        entry.packages = got;
        entry.remove = pm.remove(got);
        await this.recorder.finish(entry);
      }
      throw err;
    }
    await this.recorder.finish(entry);
  }

  /** The install; where the package manager knew none of the packages for want of its lists, once more after it fetched them. */
  private async runInstall(pm: PackageManager, argv: string[]): Promise<void> {
    try {
      await this.run(argv);
    } catch (err) {
      if (!pm.refresh || !pm.listsMissing || !(err instanceof UserError) || !pm.listsMissing.test(err.message)) throw err;
      this.options.out(`  (${pm.program} knows none of these packages yet: fetching its package lists, then again)`);
      // When fetching the lists fails too, the install's own error says more.
      if ((await this.run(pm.refresh, { allowFailure: true })).exitCode !== 0) throw err;
      await this.run(argv);
    }
  }

  /**
   * Copies built modules under /lib/modules/<release>/updates/talos-mac/ (each recorded with the
   * bytes written, so undo removes only an unchanged file), then runs depmod for that release.
   */
  async installModules(step: RecordedBy, release: string, files: readonly string[]): Promise<void> {
    if (!KERNEL_RELEASE.test(release)) throw new UserError(`not a kernel release: ${JSON.stringify(release)}`);
    const dir = moduleInstallDir(release);
    const items = await Promise.all(files.map(async (f) => ({ path: posix.join(dir, basename(f)), data: await readFile(f) })));
    const entry = await this.recorder.start(step, { kind: 'modules-installed', release, files: items.map((i) => ({ path: i.path, sha256Written: sha256(i.data) })) });
    const written: string[] = [];
    try {
      for (const i of items) {
        await this.writeFile(i.path, i.data);
        written.push(i.path);
      }
    } catch (err) {
      for (const p of written) await this.removeFile(p).catch(() => undefined);
      await this.recorder.retract(entry);
      throw err;
    }
    await this.recorder.finish(entry);
    await this.run(this.depmod(release));
  }

  /** depmod(8) for one release, on the system under --root (-b) when there is one. */
  depmod(release: string): string[] {
    return ['depmod', ...(this.options.root === '/' ? [] : ['-b', this.options.root]), '-a', release];
  }

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  /**
   * Where a path of the managed system lives on this machine, with its symbolic links resolved
   * inside the root (src/host/snapshot-path.ts): writes replace the file a link names, never the
   * link, and nothing under --root leads outside it.
   */
  local(hostPath: string): string {
    if (!hostPath.startsWith('/')) throw new Error(`not an absolute path: ${hostPath}`);
    const normal = posix.normalize(hostPath);
    if (normal.split('/').includes('..')) throw new Error(`path escapes the root: ${hostPath}`);
    try {
      return pathInSnapshot(this.ownState(normal) ? this.options.stateRoot! : this.options.root, normal);
    } catch (err) {
      throw new UserError(`cannot look up ${hostPath}: ${(err as Error).message}`, 1);
    }
  }

  private say(line: string): void {
    this.options.out(this.dryRun ? `  would: ${line}` : `  ${line}`);
  }

  /** A line of the plan that is not a single command (e.g. "build kvm-pr.ko for 6.1.0"). */
  describe(line: string): void {
    this.say(line);
  }

  private withSudo(argv: readonly string[]): string[] {
    if (this.options.uid === 0) return [...argv];
    return this.options.interactive ? ['sudo', '--', ...argv] : ['sudo', '-n', '--', ...argv];
  }

  /** Runs a command that changes the machine. */
  async run(argv: readonly string[], opts: RunMutationOptions = {}): Promise<RunResult> {
    const full = this.withSudo(argv);
    await this.ensureSudo();
    this.say(`$ ${shellLine(full)}`);
    if (this.dryRun) return { argv: full, exitCode: 0, stdout: '', stderr: '', output: '', notFound: false, timedOut: false };
    const r = await this.exec(full, opts.timeoutMs ?? (isPackageTool(argv[0] ?? '') ? PACKAGE_TIMEOUT_MS : undefined));
    if (r.exitCode !== 0 && !opts.allowFailure) throw new UserError(failureReport(r), 1);
    return r;
  }

  private async exec(argv: readonly string[], timeoutMs?: number): Promise<RunResult> {
    const { execa } = await import('execa');
    const [file, ...args] = argv;
    const sudoPrompt = argv[0] === 'sudo' && this.options.interactive;
    const r = await execa(file!, args, {
      reject: false,
      stdin: sudoPrompt ? 'inherit' : 'ignore',
      timeout: timeoutMs ?? Math.max(commandTimeoutMs(this.options.env), 120_000),
      forceKillAfterDelay: 2000,
      env: { ...(this.options.env ?? process.env), LC_ALL: 'C', LANG: 'C' },
      extendEnv: false,
      stripFinalNewline: false,
      maxBuffer: 16 * 1024 * 1024,
      all: true,
    });
    const result: RunResult = {
      argv: [...argv],
      exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      output: String(r.all ?? ''),
      notFound: (r as { code?: string }).code === 'ENOENT',
      timedOut: r.timedOut === true,
    };
    if (argv[0] === 'sudo') this.checkSudoRefusal(result);
    return result;
  }

  /** Before the first change: make sure sudo will work, so that a refusal leaves nothing half-done. */
  private async ensureSudo(): Promise<void> {
    if (this.options.uid === 0 || this.sudoChecked || this.dryRun) return;
    const argv = this.options.interactive ? ['sudo', '-v'] : ['sudo', '-n', 'true'];
    this.options.out(`  $ ${shellLine(argv)}    (checking that sudo works before changing anything)`);
    const r = await this.exec(argv);
    if (r.exitCode !== 0) throw sudoRefused(r);
    this.sudoChecked = true;
  }

  private checkSudoRefusal(r: CommandResult): void {
    if (r.notFound) {
      throw new UserError(
        'sudo is not installed, and talos-mac is not running as root: run `talos-mac setup` as root (e.g. `su -c "talos-mac setup"`). Nothing was changed by this command.',
        1,
      );
    }
    if (r.exitCode === 1 && /^sudo: /m.test(r.stderr)) throw sudoRefused(r);
  }

  /**
   * Atomically replaces (or creates) a system file; with `backup`, first copies the old file there
   * (a new file under the state directory). Returns whether a backup was taken. When the write
   * fails, the backup is removed again and the error says why in words, not as a stack trace.
   */
  async writeFile(hostPath: string, data: Buffer, opts: { backup?: string; newFileMode?: number } = {}): Promise<boolean> {
    const old = await this.read(hostPath);
    const backup = old && opts.backup ? opts.backup : undefined;
    this.say(old ? `replace ${hostPath} atomically${backup ? ` (backup of the old file: ${backup})` : ''}` : `create ${hostPath}`);
    if (this.dryRun) return backup !== undefined;
    if (backup && old) await this.guarded(backup, () => this.putFile(backup, old, { fresh: true, mode: 0o600 }));
    try {
      await this.guarded(hostPath, () => this.putFile(hostPath, data, { fresh: false, mode: opts.newFileMode ?? 0o644 }));
    } catch (err) {
      if (backup) await this.removeQuietly(backup);
      throw err;
    }
    return backup !== undefined;
  }

  /** A fresh name for a backup of `hostPath` under `dir`. */
  backupPath(hostPath: string, dir: string): string {
    return posix.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}${hostPath.replace(/\//g, '_')}`);
  }

  private async guarded(hostPath: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot write ${hostPath}${this.options.root === '/' ? '' : ` (${this.local(hostPath)})`}: ${errnoText(err as NodeJS.ErrnoException)}`, 1);
    }
  }

  private async removeQuietly(hostPath: string): Promise<void> {
    const target = this.local(hostPath);
    if (await this.canWrite(target)) await unlink(target).catch(() => undefined);
    else await this.run(['rm', '-f', '--', target], { allowFailure: true });
  }

  /**
   * A file as it is now on the system being changed (under --root), or undefined when it is not
   * there: what an edit replaces, what a proof compares, what undo restores from.
   */
  async read(hostPath: string): Promise<Buffer | undefined> {
    if (this.ownState(hostPath)) return readFile(this.local(hostPath)).catch(() => undefined);
    const r = await this.host.readFile(hostPath);
    return r.ok ? r.data : undefined;
  }

  /** The names in a directory of the system being changed (none when it is not there). */
  async list(hostDir: string): Promise<string[]> {
    const r = await this.host.readDir(hostDir);
    return r.ok ? r.entries : [];
  }

  private ownState(hostPath: string): boolean {
    const normal = posix.normalize(hostPath);
    return this.options.stateRoot !== undefined && (normal === STATE_DIR || normal.startsWith(`${STATE_DIR}/`));
  }

  /** Writes runner-owned bookkeeping (the undo record) without announcing it as a change. */
  async writeQuietly(hostPath: string, data: Buffer, mode = 0o600): Promise<void> {
    if (this.dryRun) return;
    await this.guarded(hostPath, () => this.putFile(hostPath, data, { fresh: false, mode }));
  }

  async removeFile(hostPath: string): Promise<void> {
    this.say(`remove ${hostPath}`);
    if (this.dryRun) return;
    const target = this.local(hostPath);
    if (await this.canWrite(target)) await this.guarded(hostPath, () => unlink(target).catch(ignoreMissing));
    else await this.run(['rm', '-f', '--', target]);
  }

  private async canWrite(target: string): Promise<boolean> {
    if (this.options.uid === 0) return true;
    const ok = async (p: string, mode: number) => access(p, mode).then(() => true, () => false);
    const dir = dirname(target);
    if (!(await ok(dir, constants.W_OK | constants.X_OK))) return (await exists(dir)) ? false : this.canWrite(dir);
    return !(await exists(target)) || ok(target, constants.W_OK);
  }

  private async putFile(hostPath: string, data: Buffer, how: { fresh: boolean; mode: number }): Promise<void> {
    const target = this.local(hostPath);
    if (await this.canWrite(target)) {
      await mkdir(dirname(target), { recursive: true });
      if (how.fresh) await writeNewFile(target, data, how.mode);
      else await writeFileAtomic(target, data, how.mode);
      return;
    }
    // Not ours to write: stage the bytes in a private temp dir, then let sudo install them beside the
    // target and rename (mv within one directory is rename(2), so the replacement stays atomic).
    const stage = await privateTempDir('talos-mac-');
    try {
      const staged = join(stage, basename(target));
      await writeFile(staged, data, { mode: 0o600 });
      const mode = await stat(target).then((s) => s.mode & 0o7777, () => how.mode);
      const beside = tempPathBeside(target);
      await this.run(['mkdir', '-p', '--', dirname(target)]);
      await this.run(['install', '-m', `0${mode.toString(8)}`, '--', staged, beside]);
      await this.run(['mv', how.fresh ? '-n' : '-f', '--', beside, target]);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
}

/** What the kernel pipeline may do to the machine: recorded changes, plans, and read-only probes. */
export type SystemChanges = Pick<PrivilegedRunner, 'dryRun' | 'describe' | 'host' | 'command' | 'installPackages' | 'installModules' | 'installKernel' | 'createFile'>;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** An operating-system error in words, with what to do about the usual ones. */
function errnoText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EROFS':
      return 'the file system is mounted read-only (remount it read-write, or change the file by hand)';
    case 'EPERM':
      return 'operation not permitted: the file or its directory may be immutable (`lsattr` shows an "i" flag; `chattr -i FILE` clears it)';
    case 'EACCES':
      return 'permission denied';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device';
    default:
      return err.code ? `${err.code}: ${err.message.replace(/^\w+: /, '')}` : err.message;
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

/**
 * Why a command failed, naming it as it ran (with sudo), with the last lines it printed: apt-get
 * says what went wrong ("E: Unable to locate package …") after pages of progress on stdout.
 */
export function failureReport(r: RunResult): string {
  const cmd = `\`${shellLine(r.argv)}\``;
  if (r.notFound) return `${cmd}: ${r.argv[0]} is not installed (not found on PATH)`;
  // Progress meters redraw a line with \r: only what was left on screen counts.
  const lines = r.output.split('\n').map((l) => l.split('\r').filter((p) => p.trim()).pop()?.trimEnd() ?? '').filter(Boolean);
  const how = r.timedOut ? 'did not finish in time and was stopped' : `exited with status ${r.exitCode}`;
  if (lines.length === 0) return `${cmd} ${how} (it printed nothing)`;
  if (lines.length === 1) return `${cmd} ${how}: ${lines[0]}`;
  const last = lines.slice(-FAILURE_TAIL_LINES);
  const which = last.length < lines.length ? `its last ${last.length} lines of output` : 'its output';
  return `${cmd} ${how}; ${which}:\n${last.map((l) => `    ${l}`).join('\n')}`;
}

function sudoRefused(r: CommandResult): UserError {
  const why = r.stderr.trim().split('\n')[0] || `exit status ${r.exitCode}`;
  return new UserError(
    `sudo refused (${why}). talos-mac needs root for this step: run it as root, or make sure sudo may run it (with no terminal, sudo cannot ask for a password: run from a terminal, or as root). Nothing was changed by this command.`,
    1,
  );
}
