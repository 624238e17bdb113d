import { writeOut } from '../ui/output.js';
import { UserError } from '../errors.js';
import { LiveHost } from '../host/live-host.js';
import { logFile } from '../guests/paths.js';
import { GuestStore } from '../guests/store.js';
import { planLaunch, type LaunchOptions, type LaunchPlan } from './plan.js';
import { endLine, err, failureOf, printCommand } from './report.js';
import { runDetached, runForeground } from './run.js';
import { clearRuntime, firstTime, prepareRuntimeDir, runtimeFiles } from './state.js';

export interface LaunchCommandOptions extends LaunchOptions {
  printCmd: boolean;
  json: boolean;
  timeoutMs?: number | undefined;
}

export async function launchCommand(name: string, o: LaunchCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = new GuestStore(env);
  const guest = await store.read(name);
  const file = store.file(name);
  const runtime = runtimeFiles(store.paths, name);
  const plan: LaunchPlan = await planLaunch(guest, file, o, { host: new LiveHost(env), runtime });
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
  const log = logFile(store.paths, name);
  const { renderLaunchSummary, CHECKSTOP_WARNING } = await import('../ui/launch-summary.js');
  const { makeChalk } = await import('../ui/color.js');
  const c = await makeChalk(process.stderr);
  err(renderLaunchSummary(plan, c, { log, qmp: runtime.control }));
  if (plan.accel === 'kvm' && (await firstTime(store.paths, 'kvm-checkstop-warning'))) err(c.yellow(`\n${CHECKSTOP_WARNING}\n\n`));
  await prepareRuntimeDir(runtime);
  const errorContext = { file, name };
  if (o.detach) {
    const d = await runDetached(plan.argv, { log, control: runtime.control, errorContext });
    if (d.started) {
      err(`${name} is running (QEMU pid ${d.pid}, ${d.status}). talos-mac status ${name} | stop ${name} | kill ${name}\n`);
      return 0;
    }
    await clearRuntime(runtime);
    throw failureOf(d.result, log, `QEMU for ${name}`)!;
  }
  const r = await runForeground(plan.argv, {
    log,
    events: runtime.events,
    errorContext,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(plan.display === 'serial' ? { onConsole: (chunk: string) => writeOut(chunk) } : {}),
  });
  // A second QEMU refused by the first one's pid-file lock must not remove the first one's files.
  if (r.known?.id !== 'pidfile-locked') await clearRuntime(runtime);
  const failure = failureOf(r, log, `QEMU for ${name}`);
  if (failure) throw failure;
  err(`${endLine(r)}\n`);
  return 0;
}
