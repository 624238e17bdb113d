import { UserError } from '../errors.js';
import { WHEN } from '../exit-codes.js';
import type { Host } from '../host/host.js';
import { buildQemuArgv, type Display, type QemuPlan } from '../guests/argv.js';
import { osById, type OsEntry } from '../guests/catalog.js';
import type { Guest } from '../guests/definition.js';
import { diskInUse, diskIsEmpty } from '../guests/disk.js';
import { checkDefinitionPaths } from '../guests/definition-paths.js';
import type { GuestPaths } from '../guests/paths.js';
import { chooseAccel, hostKvmReadiness, type AccelRequest, type HostKvm } from './accel.js';
import { processesWithOpen } from './running.js';
import { runningPid, type RuntimeFiles } from './state.js';
import { qemuPreflight } from './preflight.js';
import { describeVnc, isLoopback, vncAddress, type VncRequest } from './vnc.js';
import type { LiveShareSpec } from './live-share.js';

export interface LaunchOptions {
  accel: AccelRequest;
  install: boolean;
  force: boolean;
  /** auto: a window when this QEMU has a window backend and there is a desktop to open it on, else VNC on localhost. */
  display: Display | 'auto';
  /** With display vnc: where it listens (default: 127.0.0.1, the first free display). */
  vnc?: VncRequest | undefined;
  paused: boolean;
  detach: boolean;
  extra: readonly string[];
  /** Check QEMU and decide KVM against this host instead of this machine (--snapshot: a captured host; tests, bug reports). */
  checked?: Host | undefined;
  /** The disk is known to boot (the demo): skip the empty-disk check. */
  bootableDisk?: boolean;
  /** Never write to the disk (snapshot=on). */
  discardWrites?: boolean;
  /** A launcher (foreground, or the --detach supervisor) stays to start QEMU again after a guest reset (QemuPlan.restartOnReset). */
  restartOnReset?: boolean;
  /** --sound: the mac99 audio device, refused with the reason where this QEMU has none. */
  sound?: boolean;
  /** A launcher serves the guest's live share (src/launch/live-share.ts); a printed command has none. */
  liveShare?: boolean;
}

export interface LaunchPlan extends QemuPlan {
  argv: string[];
  why: string;
  /** Lines to print before starting (caveats, what was decided for the user). */
  notes: string[];
  warnings: string[];
  /** The live share this launch serves, its credentials made for it. */
  liveShare?: LiveShareSpec;
  /** The CD it boots is not a PowerPC Mac boot disc, and --force said boot it anyway. */
  disc?: string;
}

/** As access(F_OK): a symbolic link to nothing does not exist. */
async function exists(host: Host, path: string): Promise<boolean> {
  const info = await host.pathInfo(path);
  return info.exists && info.type !== 'link';
}

/** Reads the host for KVM-PR, once, only when the decision needs it. */
function hostProbe(host: Host): () => Promise<HostKvm> {
  let memo: Promise<HostKvm> | undefined;
  return () => (memo ??= hostKvmReadiness(host));
}

export const hasDesktop = (env: NodeJS.ProcessEnv): boolean => Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);

const NO_DESKTOP =
  'no desktop session here for a window (DISPLAY and WAYLAND_DISPLAY are unset: an ssh login?), nothing was started. Launch with --display vnc (a VNC server on localhost; from another machine: ssh -L 5900:127.0.0.1:5900 this-host, then a VNC viewer on localhost:5900), log in with ssh -X for a forwarded window, or use --display serial.';

/**
 * How to get the mouse back where the guest has a relative pointer (no tablet): GTK and SDL grab it
 * on a click; both release it on Ctrl-Alt-G (ui/gtk.c GDK_KEY_g with the grab modifiers; ui/sdl2.c
 * says "Press Ctrl-Alt-G to exit grab" in the title). A VNC viewer never grabs: the guest's pointer
 * moves by deltas and drifts from the viewer's.
 */
export function pointerNote(pointer: OsEntry['pointer'], display: Display): string | undefined {
  if (pointer === 'usb-tablet') return undefined;
  if (display === 'window') return 'No tablet for this OS: the window grabs the mouse on a click; Ctrl-Alt-G releases it.';
  if (display === 'vnc')
    return "No tablet for this OS: the VNC viewer does not grab the mouse, and the guest's pointer follows yours by relative moves, so the two drift apart; move to a screen corner to line them up again.";
  return undefined;
}

export const alreadyRunning = (name: string, pid: number): UserError =>
  new UserError(`guest ${name} is already running (QEMU pid ${pid}). See talos-mac status ${name}; stop it with talos-mac stop ${name}.`, WHEN.guestRunning);

/**
 * Everything `launch` decides before starting QEMU, and every refusal: `--print-cmd` runs exactly
 * this, so it refuses exactly what launch refuses.
 */
export async function planLaunch(
  g: Guest,
  file: string,
  opts: LaunchOptions,
  /** runtime: where QEMU puts its pid file and QMP sockets; none for a command printed to run elsewhere. */
  ctx: { host: Host; paths: GuestPaths; runtime?: RuntimeFiles | undefined; lock?: string | undefined; env?: NodeJS.ProcessEnv },
): Promise<LaunchPlan> {
  const os = osById(g.os);
  const notes: string[] = [];
  const desktop = hasDesktop(ctx.env ?? process.env);
  // GTK and SDL need a desktop session; over ssh QEMU would only fail with "gtk initialization failed".
  if (opts.display === 'window' && !desktop) throw new UserError(NO_DESKTOP, WHEN.hostCannot);
  if (opts.detach && opts.display === 'serial') throw new UserError('--detach and --display serial cannot be combined: a detached guest has no terminal.');
  await checkDefinitionPaths(ctx.host, ctx.paths, g, file);
  if (g.share !== undefined) notes.push(`Shared folder: ${g.share_from ?? g.share} as a read-only CD (as it was at talos-mac share; --refresh updates it).`);
  if (g.net.startsWith('tap:')) {
    const dev = g.net.slice(4);
    if (!(await exists(ctx.host, `/sys/class/net/${dev}`))) {
      throw new UserError(
        `tap device ${dev} does not exist. Create it for your user:\n  sudo ip tuntap add dev ${dev} mode tap user "$USER"\n  sudo ip link set ${dev} up\n(optionally add it to a bridge), or use QEMU's user network: talos-mac set ${g.name} --net user`,
      );
    }
  }
  const live = g.live_share !== undefined ? await planLiveShare(g, file, opts, ctx) : undefined;
  if (g.live_share !== undefined && !live) notes.push(`Live share ${g.live_share}: only talos-mac launch serves it; this command has no guestfwd for it.`);
  const pid = ctx.runtime ? await runningPid(ctx.runtime, ctx.lock) : undefined;
  if (pid !== undefined) throw alreadyRunning(g.name, pid.pid);
  if (ctx.lock !== undefined && (await diskInUse(ctx.host, g.disk, g.disk_format)) === true) {
    // A launch of this guest racing ours may have taken the lock since the look above.
    const now = ctx.runtime ? await runningPid(ctx.runtime, ctx.lock) : undefined;
    if (now !== undefined) throw alreadyRunning(g.name, now.pid);
    const pids = await processesWithOpen(g.disk);
    throw new UserError(
      `The disk ${JSON.stringify(g.disk)} is in use by another running QEMU${pids.length ? ` (pid ${pids.join(', ')})` : ''}: a guest using it is already running. Nothing was started.`,
      1,
    );
  }

  let install = opts.install;
  if (install && g.cdrom === undefined) {
    throw new UserError(`--install boots the installer CD, but ${g.name} has none: give it one with talos-mac set ${g.name} --cdrom FILE.`);
  }
  if (!install && !opts.bootableDisk) {
    const empty = await diskIsEmpty(ctx.host, g.disk, g.disk_format);
    if (empty === true) {
      if (g.cdrom === undefined) {
        throw new UserError(`the disk of ${g.name} is still empty and there is no CD to install from: talos-mac set ${g.name} --cdrom FILE, then talos-mac launch ${g.name} --install.`);
      }
      install = true;
      notes.push('The disk is still empty: booting the installer CD (as with --install).');
    }
  }
  // The disc check of every door (media-check.ts admitDisc), before QEMU boots the CD; --print-cmd refuses it too.
  let disc: string | undefined;
  if (install && g.cdrom !== undefined) {
    const { admitDisc } = await import('../guests/media-check.js');
    disc = (await admitDisc(ctx.host, g.cdrom, { flag: `the CD of ${g.name},`, force: opts.force, instead: `Give it a Mac install disc: talos-mac set ${g.name} --cdrom FILE.` })).warning;
  }
  const host = opts.checked ?? ctx.host;
  const nic = g.net === 'none' ? undefined : (g.nic ?? os.nics[0]);
  const qemu = await qemuPreflight(host, { nic, display: opts.display === 'auto' && !desktop ? 'vnc' : opts.display, sound: opts.sound === true });
  let display: Display;
  // Said as a warning (yellow, "!"): whoever expected a window must not miss where the screen went.
  const displayWarnings: string[] = [];
  if (opts.display !== 'auto') display = opts.display;
  else if (desktop && qemu.windowBackend) display = 'window';
  else {
    display = 'vnc';
    displayWarnings.push(
      `No window: ${desktop ? `this QEMU has no GTK or SDL display (doctor check qemu.display-window)` : 'no desktop session here (DISPLAY and WAYLAND_DISPLAY are unset: an ssh login?)'}. The screen is served over VNC instead (--display window asks for a window, and refuses with the reason).`,
    );
  }
  const vnc = display === 'vnc' ? await vncAddress(opts.vnc ?? { host: '127.0.0.1' }) : undefined;
  if (vnc) {
    notes.push(`Connect a VNC viewer to ${describeVnc(vnc)}${isLoopback(vnc.slice(0, vnc.lastIndexOf(':'))) ? '; from another machine, through ssh -L' : ''}.`);
    if (!isLoopback(vnc.slice(0, vnc.lastIndexOf(':')))) notes.push('This VNC server has no password: anyone who can reach that address sees and controls the guest.');
  }
  const choice = await chooseAccel({ request: opts.accel, os, cpu: g.cpu, install, force: opts.force, host: hostProbe(host) });
  if (install) notes.push(...os.notes.filter((n) => /installer/i.test(n)));
  if (install) notes.push(`Booting the CD ${g.cdrom}: after installing, quit and run talos-mac launch ${g.name} to boot the disk${os.kvm.works ? ' (under KVM-PR when the host is ready)' : ''}.`);
  const release = pointerNote(os.pointer, display);
  if (release) notes.push(release);
  const plan: QemuPlan = {
    guest: g,
    os,
    accel: choice.accel,
    cpu: choice.cpu,
    boot: install ? 'cd' : 'disk',
    display,
    ...(display === 'window' && qemu.windowBackend ? { windowBackend: qemu.windowBackend } : {}),
    ...(vnc ? { vnc } : {}),
    ...(ctx.runtime ? { qmp: { control: ctx.runtime.control, events: ctx.runtime.events }, pidFile: ctx.runtime.pid } : {}),
    paused: opts.paused,
    ...(opts.discardWrites ? { discardWrites: true } : {}),
    ...(opts.restartOnReset ? { restartOnReset: true } : {}),
    ...(qemu.sound ? { sound: qemu.sound } : {}),
    ...(live ? { guestfwd: [live.guestfwd] } : {}),
    extra: opts.extra,
  };
  return { ...plan, argv: buildQemuArgv(plan), why: choice.why, notes, warnings: [...displayWarnings, ...choice.warnings], ...(live ? { liveShare: live.spec } : {}), ...(disc ? { disc } : {}) };
}

/** The live share's server is there and the guest's network can reach it; its credentials for this launch. */
async function planLiveShare(g: Guest, file: string, opts: LaunchOptions, ctx: { host: Host; runtime?: RuntimeFiles | undefined; env?: NodeJS.ProcessEnv }): Promise<{ spec: LiveShareSpec; guestfwd: string } | undefined> {
  if (!opts.liveShare || !ctx.runtime || g.live_share === undefined) return undefined;
  const { afpPathProblem, guestfwdRule, liveClient, liveProtocol, liveShareProblem, newLiveShareSpec } = await import('./live-share.js');
  const off = `or stop sharing it: talos-mac share ${g.name} --live --off`;
  if (g.net !== 'user') throw new UserError(`${file}: live_share: the guest reaches its live share through QEMU's user network, but net is ${JSON.stringify(g.net)}. Use it: talos-mac set ${g.name} --net user, ${off}.`);
  if (!(await exists(ctx.host, g.live_share))) throw new UserError(`${file}: live_share: the folder ${JSON.stringify(g.live_share)} does not exist. Share another: talos-mac share ${g.name} DIR --live, ${off}.`);
  const os = osById(g.os);
  const protocol = liveProtocol(os, g.live_share_protocol);
  const osr = await ctx.host.readFile('/etc/os-release');
  const problem = (protocol === 'afp' ? afpPathProblem(g.live_share) : undefined) ?? (await liveShareProblem(protocol, osr.ok ? osr.data.toString('utf8') : undefined, ctx.env));
  if (problem) throw new UserError(`${g.name} shares ${g.live_share} live, but ${problem} Nothing was started; ${off}.`, 1);
  return { spec: newLiveShareSpec(g.live_share, protocol, liveClient(os), ctx.env, g.name), guestfwd: guestfwdRule(protocol, ctx.runtime.dir) };
}
