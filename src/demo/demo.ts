import { writeOut } from '../ui/output.js';
import { privateTempDir } from '../host/temp-dir.js';
import { mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Guest } from '../guests/definition.js';
import { guestPaths, logFile } from '../guests/paths.js';
import type { AccelRequest } from '../launch/accel.js';
import { endLine, err, failureOf, printCommand } from '../launch/report.js';
import { planLaunch, type LaunchPlan } from '../launch/plan.js';
import { guestLockFile, prepareLockDir, underLock } from '../launch/guest-lock.js';
import { clearRuntime, prepareRuntimeDir, runtimeFiles, type RuntimeFiles } from '../launch/state.js';
import { describeVnc, type VncRequest } from '../launch/vnc.js';
import { runForeground } from '../launch/run.js';
import { buildBootImage, bootedFrom, cachedDemoDisk, DEMO_MARKER } from './image.js';

export interface DemoOptions {
  accel: AccelRequest;
  /** Unset: none (with a screen to look at, the demo stays until it is stopped). */
  timeoutSeconds?: number | undefined;
  /** serial (default): the firmware console here, and the demo powers off; vnc or window: a screen that stays. */
  display?: 'serial' | 'vnc' | 'window';
  vnc?: VncRequest | undefined;
  printCmd: boolean;
  json: boolean;
  /** Build (and keep) the image here instead of a temporary directory. */
  workDir?: string | undefined;
  /** Boot this demo image (built elsewhere) instead of building one: for hosts without xorriso. */
  image?: string | undefined;
  checked?: Host | undefined;
}

/** qcow2 by its magic number, else raw: no qemu-img needed on a host that only runs the demo. */
async function imageFormat(path: string): Promise<'qcow2' | 'raw'> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new UserError(`--image ${path}: ${(e as Error).message}`);
  }
  try {
    const { buffer } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return buffer.toString('latin1') === 'QFI\xfb' ? 'qcow2' : 'raw';
  } finally {
    await fh.close();
  }
}

/**
 * With a screen (OpenBIOS then writes to the screen, not the serial console): the boot script prints
 * its line and ends in the firmware's prompt (`quit` leaves the boot command, whose `reset-all`
 * would start the machine again: argv.ts BOOT_RETRY), so the screen stays to be looked at. Seen
 * here under TCG: the same screen, "TALOS-MAC-DEMO booted from …" and the prompt, for 2 minutes.
 */
const STAY = 'quit';

/**
 * Builds the demo disk and boots it with the launch code. On the serial console it checks the disk
 * powered itself off; with --display vnc or window it runs under the name "demo", so that
 * talos-mac screenshot demo and stop demo find it as they find a guest.
 */
export async function demoCommand(o: DemoOptions, host: Host, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (o.timeoutSeconds !== undefined && !(o.timeoutSeconds > 0)) throw new UserError('--timeout must be a positive number of seconds');
  const screen = o.display === 'vnc' || o.display === 'window';
  const timeoutSeconds = o.timeoutSeconds ?? (screen ? undefined : 60);
  const paths = guestPaths(env);
  const dir = o.workDir ? resolve(o.workDir) : await privateTempDir('talos-mac-demo-');
  try {
    await mkdir(dir, { recursive: true });
    const then = screen ? STAY : undefined;
    const disk = o.image ? resolve(o.image) : o.workDir ? await buildBootImage(host, dir, 'raw-disk', DEMO_MARKER, then) : await cachedDemoDisk(host, paths.cache, then);
    const format = o.image ? await imageFormat(disk) : 'raw';
    const guest: Guest = { name: 'demo', os: '10.4', ram: 256, disk, disk_format: format, net: 'none', resolution: '800x600x32' };
    const runtime = screen ? runtimeFiles(paths, 'demo') : { dir, control: join(dir, 'qmp.sock'), events: join(dir, 'events.sock'), pid: join(dir, 'qemu.pid') };
    const lock = screen ? guestLockFile(paths, 'demo') : undefined;
    const plan = await planLaunch(
      guest,
      'the demo',
      {
        accel: o.accel,
        install: false,
        force: false,
        display: o.display ?? 'serial',
        vnc: o.vnc,
        paused: false,
        detach: false,
        extra: [],
        checked: o.checked,
        bootableDisk: true,
        discardWrites: true,
      },
      // A printed command must not name this run's temporary folder, which is gone when it is pasted.
      { host, paths, runtime: o.printCmd ? undefined : runtime, lock: o.printCmd ? undefined : lock, env },
    );
    if (o.printCmd) {
      printCommand(plan.argv, o.json);
      return 0;
    }
    const log = logFile(paths, 'demo');
    const why = o.accel === 'tcg' ? '' : ` (${plan.why})`;
    if (screen && lock) return await demoOnScreen(plan, runtime, lock, log, timeoutSeconds, why);
    err(`talos-mac demo: booting a tiny self-made Mac disk under ${plan.accel === 'kvm' ? 'KVM-PR' : 'TCG'}${why}; firmware console follows.\n`);
    let console = '';
    const r = await runForeground(plan.argv, {
      log,
      events: runtime.events,
      timeoutMs: (timeoutSeconds ?? 60) * 1000,
      errorContext: {},
      onConsole: (chunk) => {
        console += chunk;
        writeOut(chunk);
      },
    });
    const device = bootedFrom(console);
    if (r.outcome === 'timeout') {
      const why = device
        ? `it booted from ${device} but did not power off`
        : /No valid state has been set|0 >/.test(console)
          ? 'the firmware did not find the demo disk (it kept retrying)'
          : 'the firmware printed nothing useful';
      throw new UserError(`the demo did not finish within ${timeoutSeconds ?? 60} s: ${why}. Log: ${log}`, 1);
    }
    const failure = failureOf(r, log, 'the demo guest');
    if (failure) throw failure;
    if (!device) throw new UserError(`QEMU ended (${r.outcome}) but the demo disk never said it booted. Log: ${log}`, 1);
    err(`\ntalos-mac demo: booted from ${device} (the demo disk, ${DEMO_MARKER}). ${endLine(r)}\n`);
    return 0;
  } finally {
    if (!o.workDir) await rm(dir, { recursive: true, force: true });
  }
}

/** The demo on a screen: under the guest lock of the name "demo", until it is stopped, closed or timed out. */
async function demoOnScreen(plan: LaunchPlan, runtime: RuntimeFiles, lock: string, log: string, timeoutSeconds: number | undefined, why: string): Promise<number> {
  const where = plan.display === 'vnc' ? `a VNC server on ${describeVnc(plan.vnc ?? '127.0.0.1:0')}` : `a window (${plan.windowBackend ?? "QEMU's default backend"})`;
  const until = `talos-mac stop demo${plan.display === 'window' ? ', closing the window' : ''}${timeoutSeconds !== undefined ? ` or ${timeoutSeconds} s` : ''}`;
  err(`talos-mac demo: booting a tiny self-made Mac disk under ${plan.accel === 'kvm' ? 'KVM-PR' : 'TCG'}${why}. Its screen: ${where}; it stays at the firmware prompt until ${until}. Save the screen: talos-mac screenshot demo FILE.png\n`);
  for (const n of plan.notes) err(`  ${n}\n`);
  for (const w of plan.warnings) err(`  ! ${w}\n`);
  await prepareRuntimeDir(runtime);
  await prepareLockDir(lock);
  try {
    const r = await runForeground(underLock(lock, plan.argv), {
      log,
      events: runtime.events,
      lock,
      ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}),
      errorContext: {},
    });
    if (r.conflict) throw new UserError('the demo is already running: talos-mac stop demo ends it.', 1);
    // On a screen, running until the time limit is the demo doing what it was asked.
    const failure = r.outcome === 'timeout' ? undefined : failureOf(r, log, 'the demo guest');
    if (failure) throw failure;
    err(`talos-mac demo: ${r.outcome === 'timeout' ? `stopped after ${timeoutSeconds} s (--timeout).` : endLine(r)}\n`);
    return 0;
  } finally {
    await clearRuntime(runtime, lock);
  }
}
