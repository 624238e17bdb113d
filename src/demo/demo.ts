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
import { planLaunch } from '../launch/plan.js';
import { runForeground } from '../launch/run.js';
import { buildBootImage, bootedFrom, cachedDemoDisk, DEMO_MARKER } from './image.js';

export interface DemoOptions {
  accel: AccelRequest;
  timeoutSeconds: number;
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

/** Builds the demo disk, boots it with the launch code (serial console), and checks it powered itself off. */
export async function demoCommand(o: DemoOptions, host: Host, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!(o.timeoutSeconds > 0)) throw new UserError('--timeout must be a positive number of seconds');
  const paths = guestPaths(env);
  const dir = o.workDir ? resolve(o.workDir) : await privateTempDir('talos-mac-demo-');
  try {
    await mkdir(dir, { recursive: true });
    const disk = o.image ? resolve(o.image) : o.workDir ? await buildBootImage(host, dir, 'disk') : await cachedDemoDisk(host, paths.cache);
    const format = o.image ? await imageFormat(disk) : 'qcow2';
    const guest: Guest = { name: 'demo', os: '10.4', ram: 256, disk, disk_format: format, net: 'none', resolution: '800x600x32' };
    const runtime = { dir, control: join(dir, 'qmp.sock'), events: join(dir, 'events.sock'), pid: join(dir, 'qemu.pid') };
    const plan = await planLaunch(
      guest,
      'the demo',
      {
        accel: o.accel,
        install: false,
        force: false,
        display: 'serial',
        paused: false,
        detach: false,
        extra: [],
        checked: o.checked,
        bootableDisk: true,
        discardWrites: true,
      },
      // A printed command must not name this run's temporary folder, which is gone when it is pasted.
      { host, paths, runtime: o.printCmd ? undefined : runtime },
    );
    if (o.printCmd) {
      printCommand(plan.argv, o.json);
      return 0;
    }
    const log = logFile(paths, 'demo');
    const why = o.accel === 'tcg' ? '' : ` (${plan.why})`;
    err(`talos-mac demo: booting a tiny self-made Mac disk under ${plan.accel === 'kvm' ? 'KVM-PR' : 'TCG'}${why}; firmware console follows.\n`);
    let console = '';
    const r = await runForeground(plan.argv, {
      log,
      events: runtime.events,
      timeoutMs: o.timeoutSeconds * 1000,
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
      throw new UserError(`the demo did not finish within ${o.timeoutSeconds} s: ${why}. Log: ${log}`, 1);
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
