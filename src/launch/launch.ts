import { appendFileSync } from 'node:fs';
import { writeOut } from '../ui/output.js';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { logFile } from '../guests/paths.js';
import { GuestStore } from '../guests/store.js';
import { guestLockFile, holdLock, launchLockFile, lockHolder, prepareLockDir, underLock, type HeldLock } from './guest-lock.js';
import { describeVnc } from './vnc.js';
import { alreadyRunning, planLaunch, type LaunchOptions, type LaunchPlan } from './plan.js';
import { endLine, err, failureOf, printCommand, resetLoopError, type BootFacts } from './report.js';
import { runForeground, type RunResult } from './run.js';
import type { LiveShareSpec } from './live-share.js';
import { clearRuntime, firstTime, prepareRuntimeDir, runtimeFiles, type RuntimeFiles } from './state.js';

export interface LaunchCommandOptions extends LaunchOptions {
  printCmd: boolean;
  json: boolean;
  timeoutMs?: number | undefined;
  /** --checkpoint / --no-checkpoint: save one before an installer boots on a disk with data (unset: ask, or save). */
  checkpoint?: boolean | undefined;
}

export async function launchCommand(name: string, o: LaunchCommandOptions, host: Host, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = new GuestStore(env);
  const guest = await store.read(name);
  const file = store.file(name);
  const runtime = runtimeFiles(store.paths, name);
  const lock = guestLockFile(store.paths, name);
  // Only a launch restarts QEMU: a printed command keeps QEMU's own in-place reset, which the
  // firmware's boot retry (argv.ts BOOT_RETRY) relies on when nobody is there to start QEMU again.
  const plan: LaunchPlan = await planLaunch(guest, file, { ...o, restartOnReset: !o.printCmd, liveShare: !o.printCmd }, { host, paths: store.paths, runtime, lock, env });
  if (o.printCmd) {
    // As pasted, QEMU creates its pid file and QMP sockets in this folder: it must exist.
    await prepareRuntimeDir(runtime);
    printCommand(plan.argv, o.json);
    return 0;
  }
  if (plan.boot === 'cd') {
    const { installCheckpoint } = await import('./install-checkpoint.js');
    const ask = process.stdin.isTTY
      ? async (message: string) => (await import('../ui/prompts.js')).makePrompts({ yes: false, interactive: true }).confirm({ message, default: true })
      : undefined;
    for (const line of await installCheckpoint(host, store.paths, guest, o.checkpoint, ask)) err(`${line}\n`);
  }
  const log = logFile(store.paths, name);
  const { renderLaunchSummary, CHECKSTOP_WARNING } = await import('./summary.js');
  const { makeChalk } = await import('../ui/color.js');
  const c = await makeChalk(process.stderr);
  err(renderLaunchSummary(plan, c, { log, qmp: runtime.control }));
  if (plan.accel === 'kvm' && (await firstTime(store.paths, 'kvm-checkstop-warning'))) err(c.yellow(`\n${CHECKSTOP_WARNING}\n\n`));
  if ((await host.run(['flock', '--version'])).notFound) {
    const { distroOfHost, installAdvice } = await import('../distro/distro.js');
    const d = await distroOfHost(host);
    throw new UserError(`flock is not installed: talos-mac runs QEMU under it so that a guest never runs twice. ${installAdvice(d, d.names.utilLinux, 'flock')}.`, 1);
  }
  await prepareRuntimeDir(runtime);
  await prepareLockDir(lock);
  const boot: BootFacts = { from: plan.boot, path: plan.boot === 'cd' ? guest.cdrom! : guest.disk, hasCd: guest.cdrom !== undefined, accel: plan.accel, display: plan.display };
  if (plan.disc) err(c.yellow(`! ${plan.disc}\n`));
  const spec: RunSpec = { name, file, argv: underLock(lock, plan.argv), log, runtime, lock, serial: plan.display === 'serial', boot, ...(plan.liveShare ? { liveShare: plan.liveShare } : {}), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) };
  const launch = await takeLaunchLock(lock, name);
  try {
    if (o.detach) {
      const { startSupervisor } = await import('./supervise.js');
      const d = await startSupervisor(spec, launch);
      err(`${name} is running (QEMU pid ${d.pid}, ${d.status}; talos-mac pid ${d.supervisor} restarts it after guest resets). talos-mac status ${name} | screenshot ${name} | stop ${name} | kill ${name}\n`);
      if (plan.vnc) err(`Display: VNC server on ${describeVnc(plan.vnc)}\n`);
      return 0;
    }
    err(`${await runGuest(spec)}\n`);
    return 0;
  } finally {
    launch.release();
  }
}

/** One guest's QEMU runs, as the foreground launcher and the --detach supervisor both run them. */
export interface RunSpec {
  name: string;
  /** The guest's definition file (for error messages). */
  file: string;
  /** QEMU's argv under the guest lock. */
  argv: string[];
  log: string;
  runtime: RuntimeFiles;
  lock: string;
  /** The firmware console goes to stdout. */
  serial: boolean;
  timeoutMs?: number;
  /** Served while the guest runs (live-share.ts), started here so that it ends with this launcher. */
  liveShare?: LiveShareSpec;
  /** What it boots: said when the boot fails. */
  boot?: BootFacts;
}

/**
 * Runs the guest until it is off: restarted after each guest reset, the runtime files cleared after
 * the last run however it ended. Returns the end line, or throws what went wrong. The caller holds
 * the launch lock throughout.
 */
export async function runGuest(s: RunSpec): Promise<string> {
  const share = s.liveShare ? await (await import('./live-share.js')).startLiveShare(s.liveShare, s.runtime.dir) : undefined;
  try {
    const { r, restarts } = await runRestarting(s, (timeoutMs) =>
      untilNotTransient<RunResult>(s.lock, s.name, async () => {
        const r = await runForeground(s.argv, {
          log: s.log,
          events: s.runtime.events,
          errorContext: { file: s.file, name: s.name },
          lock: s.lock,
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          ...(s.serial ? { onConsole: (chunk: string) => writeOut(chunk) } : {}),
        });
        return { d: r, conflict: r.conflict };
      }),
    );
    const failure = failureOf(r, s.log, `QEMU for ${s.name}`);
    if (failure) throw failure;
    return endLine(r, restarts);
  } finally {
    await share?.stop();
    await clearRuntime(s.runtime, s.lock);
  }
}

/** More resets than this within RESET_WINDOW_MS is a loop (a guest that cannot boot), not restarts. */
const MAX_RESETS = 5;
const RESET_WINDOW_MS = 60_000;

/**
 * Runs QEMU (with -no-reboot) again after every guest reset: a fresh QEMU, the same argv, while
 * this launcher holds the launch lock. mac99 reset in place is reported to hang on a black screen
 * with a busy CPU; a new QEMU starts from power-on. A guest shutdown, a quit or a failure ends it.
 */
async function runRestarting(s: RunSpec, run: (timeoutMs: number | undefined) => Promise<RunResult>): Promise<{ r: RunResult; restarts: number }> {
  const { name, log, timeoutMs } = s;
  const t0 = Date.now();
  const resets: number[] = [];
  /** When each run started: the loop's length is from the start of the first run that ended in a counted reset. */
  const starts: number[] = [];
  for (;;) {
    const left = timeoutMs === undefined ? undefined : Math.max(1, timeoutMs - (Date.now() - t0));
    starts.push(Date.now());
    const r = await run(left);
    if (r.outcome !== 'reset') return { r: { ...r, ms: Date.now() - t0 }, restarts: resets.length };
    resets.push(Date.now());
    const inWindow = resets.filter((t) => Date.now() - t < RESET_WINDOW_MS);
    const recent = inWindow.length;
    if (recent > MAX_RESETS) {
      appendFileSync(log, `--- talos-mac: ${recent} guest resets within ${RESET_WINDOW_MS / 1000} s: not restarting again\n`);
      const seconds = Math.max(1, Math.round((Date.now() - starts[resets.length - recent]!) / 1000));
      throw resetLoopError(name, { count: recent, seconds, windowS: RESET_WINDOW_MS / 1000 }, log, s.boot, s.boot ? await bootVerdict(s.boot) : undefined);
    }
    appendFileSync(log, `--- talos-mac: the guest reset itself: restarting QEMU (restart ${resets.length})\n`);
    err(`${name}: restarted after a guest reset (${resets.length})\n`);
  }
}

/** What the disc check (media check) says of what a failed boot booted; undefined when it cannot tell. */
async function bootVerdict(boot: BootFacts): Promise<{ bootable: boolean; said: string } | undefined> {
  const { checkBootable, discKind, discVerdict } = await import('../guests/media-check.js');
  // Also run by the background supervisor, whose process has no host passed down: this machine.
  const c = await checkBootable((await import('../host/open.js')).thisMachine(), boot.path).catch(() => undefined);
  if (!c || discKind(c) === 'unreadable') return undefined;
  if (boot.from === 'cd') return { bootable: c.bootable && discKind(c) === 'bootable', said: `media check says ${discVerdict(c)}` };
  // A hard disk: bootable when it holds a blessed Mac volume (in a qcow2 image, in its first MiB).
  return { bootable: c.bootable, said: c.bootable ? 'media check finds a blessed Mac volume on it' : 'media check finds no blessed Mac volume on it (no Mac OS installed?)' };
}

/**
 * The launch lock (guest-lock.ts launchLockFile), waiting out another launch that is starting; a
 * launch whose QEMU holds the guest lock is "already running".
 */
async function takeLaunchLock(lock: string, name: string): Promise<HeldLock> {
  const file = launchLockFile(lock);
  const end = Date.now() + 5000;
  for (;;) {
    const held = await holdLock(file);
    if (held) return held;
    const holder = await lockHolder(lock);
    if (holder !== undefined) throw alreadyRunning(name, holder.pid);
    if (Date.now() > end) throw new UserError(`guest ${name} is being started or restarted by another talos-mac launch, or a checkpoint, share or files command is using its disk (it holds ${JSON.stringify(file)}); nothing was started. See talos-mac status ${name}.`, 1);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `start` until it is not refused by the guest lock; a refusal from a QEMU that holds it is
 * "already running" (nothing was started, nothing of the winner's touched). The lock is also held
 * for a moment by a clean-up after a run (state.ts clearRuntime): that refusal is retried.
 */
async function untilNotTransient<T>(lock: string, name: string, start: () => Promise<{ d: T; conflict?: true | undefined }>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const { d, conflict } = await start();
    if (!conflict) return d;
    for (let i = 0; i < 10; i++) {
      const holder = await lockHolder(lock);
      if (holder === undefined) break;
      if (i === 9 || attempt >= 5) throw alreadyRunning(name, holder.pid);
      await new Promise((r) => setTimeout(r, 30));
    }
    if (attempt >= 5) throw new UserError(`guest ${name}: its lock ${JSON.stringify(lock)} stayed busy; nothing was started. Try again.`, 1);
  }
}
