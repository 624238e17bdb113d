import type { ChalkInstance } from 'chalk';
import type { LaunchPlan } from './plan.js';
import { describeVnc } from './vnc.js';
import { describeLiveShare } from './live-share.js';
import { VIA_INPUT } from '../guests/catalog.js';
import { shellLine } from '../ui/shell-quote.js';
import { shown } from '../ui/escape.js';

function displayRow(p: LaunchPlan): string {
  switch (p.display) {
    case 'window':
      return `window (${p.windowBackend ?? "QEMU's default backend"}), ${p.guest.resolution}`;
    case 'vnc':
      return `VNC server on ${describeVnc(p.vnc ?? '127.0.0.1:0')}, ${p.guest.resolution}`;
    case 'serial':
      return 'firmware console on this terminal (no window)';
    case 'none':
      return 'none (headless)';
  }
}

/** The start summary (like quickemu's): what runs, how, and where to look when it does not. */
export function renderLaunchSummary(p: LaunchPlan, c: ChalkInstance, extra: { log: string; qmp?: string | undefined }): string {
  const g = p.guest;
  const nic = g.nic ?? p.os.nics[0];
  const rows: Array<[string, string]> = [
    ['OS', p.os.title],
    ['CPU', `${p.cpu} (${p.accel === 'kvm' ? 'KVM-PR' : 'TCG'})`],
    ['RAM', `${g.ram} MiB`],
    ['Accelerator', p.why],
    ['Disk', `${shown(g.disk)} (${shown(g.disk_format)})`],
    ['CD', g.cdrom !== undefined ? shown(g.cdrom) : 'none'],
    ['Boot from', p.boot === 'cd' ? 'the CD (installing)' : 'the disk'],
    ['Network', g.net === 'none' ? 'none' : `${g.net === 'user' ? 'user-mode NAT' : `tap device ${g.net.slice(4)}`}, ${nic}`],
    ['Input', `${VIA_INPUT[p.os.via]}${p.os.pointer === 'usb-tablet' ? ' + USB tablet' : ''}`],
    ['Pointer', p.os.pointer === 'usb-tablet' ? 'USB tablet' : p.display === 'window' ? 'mouse grab (Ctrl-Alt-G releases it)' : p.display === 'vnc' ? 'relative mouse (no grab over VNC; see below)' : 'relative mouse'],
    ['Display', displayRow(p)],
    ...(p.sound ? ([['Sound', `screamer, through ${p.sound.backend}`]] as Array<[string, string]>) : []),
    ...(p.restartOnReset ? ([['Reboots', 'a guest reset starts a fresh QEMU (counted in the log)']] as Array<[string, string]>) : []),
    ...(p.liveShare ? ([['Live share', describeLiveShare(p.liveShare)]] as Array<[string, string]>) : []),
    ['Log', extra.log],
  ];
  if (extra.qmp) rows.push(['QMP', extra.qmp]);
  // Words given after --, passed to QEMU unchecked: said out loud, never hidden in the argv.
  if (p.extra?.length) rows.push(['Raw QEMU args', shellLine(p.extra)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [c.bold(`Starting ${g.name}`), ...rows.map(([k, v]) => `  ${c.dim(k.padEnd(w))}  ${v}`)];
  for (const n of p.notes) lines.push(`  ${n}`);
  for (const warn of p.warnings) lines.push(c.yellow(`  ! ${warn}`));
  return lines.join('\n') + '\n';
}

/** Shown once per user, before the first KVM-PR launch (linuxppc/issues #436). */
export const CHECKSTOP_WARNING =
  'Before your first KVM-PR guest: a KVM-PR guest with a display has been reported to checkstop (hard-crash) a POWER host ' +
  '(linuxppc/issues #436, "Starting a KVM PR guest without -vga none checkstops the host", seen on POWER8). mac99 always has a display. ' +
  'Save your work on the host first. This warning is shown once.';
