import type { OsEntry } from './catalog.js';
import type { Guest } from './definition.js';

export type Accel = 'kvm' | 'tcg';
/** window: QEMU's own window; vnc: a VNC server; serial: firmware console on this terminal, no window; none: headless. */
export type Display = 'window' | 'vnc' | 'serial' | 'none';

export interface QemuPlan {
  guest: Guest;
  os: OsEntry;
  accel: Accel;
  cpu: string;
  /** disk: boot the hard disk; cd: boot the CD (installing). */
  boot: 'disk' | 'cd';
  display: Display;
  /** With display window: the backend (gtk, sdl) named on the command line. */
  windowBackend?: string;
  /** With display vnc: HOST:DISPLAY, e.g. 127.0.0.1:0 (TCP port 5900 + DISPLAY). */
  vnc?: string;
  /** QMP sockets: `control` for status/stop, `events` for the launcher watching this run. */
  qmp?: { control: string; events?: string };
  pidFile?: string;
  /** Writes to the disk go to a temporary overlay (snapshot=on): the image is only read. */
  discardWrites?: boolean;
  /** -S: start with the CPU stopped (QMP `cont` starts it). */
  paused?: boolean;
  /**
   * A guest reset ends QEMU (SHUTDOWN event, reason guest-reset) instead of resetting in place, so
   * the launcher can start a fresh QEMU: `-no-reboot` ("Exit instead of rebooting", qemu-options.hx;
   * QEMU 6.0 made it the same as `-action reboot=shutdown`), and older QEMUs have it too.
   */
  restartOnReset?: boolean;
  /** Sound through a mac99 audio device (a QEMU that carries screamer): the host audio backend. */
  sound?: { backend: string };
  /** `guestfwd` rules of the user network (the live share, src/launch/live-share.ts). */
  guestfwd?: readonly string[];
  /** Raw QEMU arguments after `--`. */
  extra?: readonly string[];
  qemu?: string;
}

/** Under KVM-PR, all QEMU threads on one SMT4 core, else random host stalls [inferred: reported in 2018, not seen here]. */
export const KVM_TASKSET = ['taskset', '-a', '-c', '0-3'] as const;

/**
 * OpenBIOS sometimes misses the IDE drive under host load and stops at its prompt; booting
 * again in place fixes it [inferred: seen by hand, 45/45 boots under load; no test pins it]. The newline is part of the value.
 */
export const BOOT_RETRY = 'boot-command=boot\nreset-all';

const SOUND_ID = 'snd0';

/** QEMU option values are comma-separated: a literal comma in a path is written twice. */
export const optValue = (s: string): string => s.replaceAll(',', ',,');

/** The complete argv (program first) that runs a guest. Pure: same plan, same argv. */
export function buildQemuArgv(p: QemuPlan): string[] {
  const { guest: g, os } = p;
  const nic = g.nic ?? os.nics[0] ?? 'sungem';
  const argv: string[] = [...(p.accel === 'kvm' ? KVM_TASKSET : []), p.qemu ?? 'qemu-system-ppc'];
  argv.push('-name', optValue(g.name));
  argv.push('-M', `mac99,via=${os.via}${p.sound ? `,audiodev=${SOUND_ID}` : ''}`, '-accel', p.accel, '-cpu', p.cpu, '-m', String(g.ram), '-g', g.resolution);
  argv.push('-prom-env', 'auto-boot?=true');
  for (const env of os.promEnv) argv.push('-prom-env', env);
  argv.push('-prom-env', BOOT_RETRY);
  argv.push('-drive', `file=${optValue(g.disk)},format=${g.disk_format},if=none,id=hd0${p.discardWrites ? ',snapshot=on' : ''}`, '-device', 'ide-hd,drive=hd0,bus=ide.0');
  if (g.cdrom !== undefined) {
    argv.push('-drive', `file=${optValue(g.cdrom)},format=raw,media=cdrom,readonly=on,if=none,id=cd0`, '-device', 'ide-cd,drive=cd0,bus=ide.1');
  }
  if (g.share !== undefined) {
    // The second CD: the slave of ide.1 behind the installer CD, else its master (each macio IDE bus has units 0 and 1; seen with info qtree, QEMU 7.2).
    argv.push('-drive', `file=${optValue(g.share)},format=raw,media=cdrom,readonly=on,if=none,id=cd1`, '-device', `ide-cd,drive=cd1,bus=ide.1,unit=${g.cdrom !== undefined ? 1 : 0}`);
  }
  // -boot: ppc_core99_init() (hw/ppc/mac_newworld.c) hands OpenBIOS the first of c–f in the order: c = first hard disk, d = CD.
  argv.push('-boot', p.boot === 'cd' ? 'd' : 'c');
  if (g.net === 'none') argv.push('-nic', 'none');
  else {
    const backend = g.net === 'user' ? `user,id=net0${(p.guestfwd ?? []).map((r) => `,guestfwd=${optValue(r)}`).join('')}` : `tap,id=net0,ifname=${g.net.slice(4)},script=no,downscript=no`;
    argv.push('-netdev', backend, '-device', `${nic},netdev=net0`);
  }
  if (os.pointer === 'usb-tablet') argv.push('-device', 'usb-tablet');
  // -nographic puts the firmware console on this terminal; -display none alone does not (qemu-options.hx, -display none).
  // Without a named backend QEMU picks one, and with no GUI module it quietly serves VNC instead.
  if (p.display === 'serial') argv.push('-nographic');
  else if (p.display === 'none') argv.push('-display', 'none');
  else if (p.display === 'window' && p.windowBackend) argv.push('-display', p.windowBackend);
  else if (p.display === 'vnc') argv.push('-display', 'none', '-vnc', p.vnc ?? '127.0.0.1:0');
  // The machine's audiodev property, as a QEMU carrying screamer takes it (reported: amcchord/ClassicMac#2).
  if (p.sound) argv.push('-audiodev', `${p.sound.backend},id=${SOUND_ID}`);
  if (p.restartOnReset) argv.push('-no-reboot');
  if (p.qmp) {
    argv.push('-qmp', `unix:${optValue(p.qmp.control)},server=on,wait=off`);
    if (p.qmp.events) argv.push('-qmp', `unix:${optValue(p.qmp.events)},server=on,wait=off`);
  }
  if (p.pidFile) argv.push('-pidfile', p.pidFile);
  if (p.paused) argv.push('-S');
  argv.push(...(p.extra ?? []));
  return argv;
}
