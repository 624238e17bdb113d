import { writeOut } from '../ui/output.js';
import { UserError } from '../errors.js';
import { LiveHost } from '../host/live-host.js';
import { logFile } from '../guests/paths.js';
import { GuestStore } from '../guests/store.js';
import { guestLockFile, lockHolder, prepareLockDir, underLock } from './guest-lock.js';
import { alreadyRunning, planLaunch, type LaunchOptions, type LaunchPlan } from './plan.js';
import { endLine, err, failureOf, printCommand } from './report.js';
import { runDetached, runForeground, type DetachResult, type RunResult } from './run.js';
import { alive, clearRuntime, firstTime, prepareRuntimeDir, runtimeFiles } from './state.js';

export interface LaunchCommandOptions extends LaunchOptions {
  printCmd: boolean;
  json: boolean;
  timeoutMs?: number | undefined;
  /** --checkpoint / --no-checkpoint: save one before an installer boots on a disk with data (unset: ask, or save). */
  checkpoint?: boolean | undefined;
}

export async function launchCommand(name: string, o: LaunchCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = new GuestStore(env);
  const guest = await store.read(name);
  const file = store.file(name);
  const runtime = runtimeFiles(store.paths, name);
  const lock = guestLockFile(store.paths, name);
  const host = new LiveHost(env);
  const plan: LaunchPlan = await planLaunch(guest, file, o, { host, runtime, lock });
  if (o.printCmd) {
    // As pasted, QEMU creates its pid file and QMP sockets in this folder: it must exist.
    await prepareRuntimeDir(runtime);
    printCommand(plan.argv, o.json);
    return 0;
  }
  // GTK and SDL need a desktop session; over ssh QEMU would only fail with "gtk initialization failed".
  if (plan.display === 'window' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) {
    throw new UserError(
      `no desktop session here for a window (DISPLAY and WAYLAND_DISPLAY are unset: an ssh login?). Launch with --display vnc (a VNC server on localhost; from another machine: ssh -L 5900:127.0.0.1:5900 this-host, then a VNC viewer on localhost:5900) or --display serial.`,
      1,
    );
  }
  if (plan.boot === 'cd') {
    const { installCheckpoint } = await import('./install-checkpoint.js');
    const ask = process.stdin.isTTY
      ? async (message: string) => (await import('../setup/prompts.js')).makePrompts({ yes: false, interactive: true }).confirm({ message, default: true })
      : undefined;
    for (const line of await installCheckpoint(host, store.paths, guest, o.checkpoint, ask)) err(`${line}\n`);
  }
  const log = logFile(store.paths, name);
  const { renderLaunchSummary, CHECKSTOP_WARNING } = await import('../ui/launch-summary.js');
  const { makeChalk } = await import('../ui/color.js');
  const c = await makeChalk(process.stderr);
  err(renderLaunchSummary(plan, c, { log, qmp: runtime.control }));
  if (plan.accel === 'kvm' && (await firstTime(store.paths, 'kvm-checkstop-warning'))) err(c.yellow(`\n${CHECKSTOP_WARNING}\n\n`));
  if ((await host.run(['flock', '--version'])).notFound) {
    throw new UserError('flock (util-linux) is not installed: talos-mac runs QEMU under it so that a guest never runs twice. sudo apt-get install util-linux', 1);
  }
  await prepareRuntimeDir(runtime);
  await prepareLockDir(lock);
  const errorContext = { file, name };
  const argv = underLock(lock, plan.argv);
  if (o.detach) {
    const d = await untilNotTransient<DetachResult>(lock, name, async () => {
      const d = await runDetached(argv, { log, control: runtime.control, errorContext, lock });
      return d.started ? { d } : { d, conflict: d.result.conflict };
    });
    if (d.started) {
      err(`${name} is running (QEMU pid ${d.pid}, ${d.status}). talos-mac status ${name} | stop ${name} | kill ${name}\n`);
      return 0;
    }
    await clearRuntime(runtime, lock);
    throw failureOf(d.result, log, `QEMU for ${name}`)!;
  }
  const r = await untilNotTransient<RunResult>(lock, name, async () => {
    const r = await runForeground(argv, {
      log,
      events: runtime.events,
      errorContext,
      lock,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(plan.display === 'serial' ? { onConsole: (chunk: string) => writeOut(chunk) } : {}),
    });
    return { d: r, conflict: r.conflict };
  });
  await clearRuntime(runtime, lock);
  const failure = failureOf(r, log, `QEMU for ${name}`);
  if (failure) throw failure;
  err(`${endLine(r)}\n`);
  return 0;
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
      if (holder === undefined || !alive(holder)) break;
      if (i === 9 || attempt >= 5) throw alreadyRunning(name, holder);
      await new Promise((r) => setTimeout(r, 30));
    }
    if (attempt >= 5) throw new UserError(`guest ${name}: its lock ${JSON.stringify(lock)} stayed busy; nothing was started. Try again.`, 1);
  }
}
