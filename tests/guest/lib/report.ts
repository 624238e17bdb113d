// What the test guest reports (tests/guest/init.c) and what each catalog profile promises it sees.
// Used live by tests/guest (npm run test:guest) and on the recorded reports by the default suite
// (tests/guests/guest-reports.test.ts): a catalog change that contradicts the real guest fails.
import { buildQemuArgv } from '../../../src/guests/argv.js';
import { canonicalCpu, VIA_INPUT, type OsEntry } from '../../../src/guests/catalog.js';
import type { Guest } from '../../../src/guests/definition.js';
import { parseFramed } from '../../e2e/power9/lib/framing.js';

export interface CdFile {
  path: string;
  size: number;
  sha256: string;
}

export interface GuestReport {
  nonce: string;
  boot: number;
  cmdline: string;
  uptimeS: number;
  cpuinfo: string;
  memTotalKb: number;
  blocks: Array<{ name: string; device?: string; model?: string; scsiType?: string; sectors?: string; removable?: string; mountErrors?: string[]; mountedAs?: string; files?: CdFile[] }>;
  nics: Array<{ name: string; driver?: string; device?: string; mac?: string; ipv4?: string }>;
  pnp?: string;
  inputDevices?: string;
  framebuffer: { name?: string; virtualSize?: string; bitsPerPixel?: string };
  /** With talos.auth the requests carried credentials (auth: true); the status lines are each response's first line as received. */
  share?: { address: string; auth?: boolean; putStatus: number; putStatusLine?: string; getStatus: number; getStatusLine?: string; getSize?: number; getSha256?: string };
}

/** What one profile's run recorded: the reports of both boots and what the host saw around them. */
export interface ProfileRecord {
  profile: string;
  qemu: string;
  accel: 'tcg' | 'kvm';
  guest: { cpu: string; ram: number; resolution: string; nic: string };
  /** The shared folder's files as the host has them. */
  shared: CdFile[];
  /** The bytes the host served at /to-guest.txt (sha256). */
  served?: { size: number; sha256: string };
  reports: GuestReport[];
  screenshot: { width: number; height: number };
  /** Restarts after a guest reset, as the launcher logged them. */
  restarts: number;
  /** talos-mac stop's exit code, and status afterwards. */
  stop: { code: number; runningAfter: boolean };
  /**
   * QEMU's own word on its accelerator while the guest ran (`talos-mac status --json`, which asks
   * over QMP: src/launch/qmp.ts queryAccelerator), once for each QEMU: before the guest's reset and
   * after the launcher restarted it. Recorded by the POWER9 box's KVM-PR run.
   */
  qmpAccel?: string[];
}

/** How many boots finished sending (their DONE line): parse only then, a report still arriving is incomplete. */
export const doneCount = (console: string, nonce: string): number => console.split('\n').filter((l) => l.includes(`@@TMBOX-DONE ${nonce}`)).length;

/** The reports in a serial console capture, by boot, checked against their framing. */
export function reportsFrom(console: string, nonce: string): { reports: GuestReport[]; done: number } {
  const framed = parseFramed(console, nonce);
  const reports = [...framed.results.entries()]
    .filter(([name]) => /^report-\d+\.json$/.test(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, data]) => JSON.parse(data.toString('utf8')) as GuestReport);
  return { reports, done: doneCount(console, nonce) };
}

/** `-cpu help` (QEMU 7.2): name → PVR, aliases resolved. */
export function pvrTable(cpuHelp: string): Map<string, string> {
  const pvr = new Map<string, string>();
  const alias = new Map<string, string>();
  for (const line of cpuHelp.split('\n')) {
    const m = /^PowerPC\s+(\S+)\s+PVR\s+([0-9a-f]{8})/.exec(line.trim());
    if (m) pvr.set(m[1]!.toLowerCase(), m[2]!);
    const a = /^PowerPC\s+(\S+)\s+\(alias for (\S+)\)/.exec(line.trim());
    if (a) alias.set(a[1]!.toLowerCase(), a[2]!.toLowerCase());
  }
  for (const [name, target] of alias) {
    const p = pvr.get(target);
    if (p) pvr.set(name, p);
  }
  return pvr;
}

/** "revision : 2.9 (pvr 000c 0209)" (arch/powerpc/kernel/setup-common.c show_cpuinfo) → 000c0209. */
export function reportedPvr(cpuinfo: string): string | undefined {
  const m = /\(pvr ([0-9a-f]{4}) ([0-9a-f]{4})\)/.exec(cpuinfo);
  return m ? `${m[1]}${m[2]}` : undefined;
}

/** Linux's driver for each catalog NIC: sungem.c DRV_NAME "gem"; QEMU's rtl8139 is a rev 0x20 8139C+, which 8139too refuses ("use 8139cp"). */
export const NIC_DRIVER: Readonly<Record<string, string>> = { sungem: 'gem', rtl8139: '8139cp' };

/**
 * The macio IDE controller in the guest's sysfs path for each QEMU bus. Both are named ata-3 in the
 * device tree; OpenBIOS boots a disk on ide.0 from /pci@f2000000/mac-io@c/ata-3@20000/disk@0
 * (tests/launch/boot.test.ts) and a CD on ide.1 from …/ata-3@21000/cdrom@0 (seen here, QEMU 7.2);
 * Linux names macio devices "CHIP.ADDRESS:NAME" (drivers/macintosh/macio_asic.c, macio_add_one_device).
 */
export const IDE_NODE: Readonly<Record<string, string>> = { 'ide.0': '00020000:ata-3', 'ide.1': '00021000:ata-3' };

export interface InputDevice {
  name: string;
  bus: string;
  handlers: string;
  /** keyboard: the console's kbd handler took it; tablet: absolute axes (EV_ABS); mouse: relative only (EV_REL). */
  kind: 'keyboard' | 'mouse' | 'tablet' | 'other';
}

/** /proc/bus/input/devices, one entry per blank-line-separated block (drivers/input/input.c). */
export function inputDevices(text: string): InputDevice[] {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const handlers = /^H: Handlers=(.*)$/m.exec(block)?.[1]?.trim() ?? '';
      const ev = parseInt(/^B: EV=([0-9a-f]+)$/m.exec(block)?.[1] ?? '0', 16);
      // EV_REL 0x02, EV_ABS 0x03 (include/uapi/linux/input-event-codes.h).
      const kind: InputDevice['kind'] = /\bkbd\b/.test(handlers) ? 'keyboard' : ev & (1 << 3) ? 'tablet' : ev & (1 << 2) ? 'mouse' : 'other';
      return { name: /^N: Name="(.*)"$/m.exec(block)?.[1] ?? '', bus: /^I: Bus=([0-9a-f]{4})/m.exec(block)?.[1] ?? '', handlers, kind };
    })
    .filter((d) => d.name !== '');
}

/** BUS_USB and BUS_ADB, include/uapi/linux/input.h. */
const BUS_USB = '0003';
const BUS_ADB = '0017';

/** What the guest definition puts on which IDE bus and unit, read from the argv talos-mac builds. */
function drivePlacement(g: Guest, os: OsEntry, accel: ProfileRecord['accel'], cpu: string): Map<string, { bus: string; unit: number }> {
  const argv = buildQemuArgv({ guest: g, os, accel, cpu, boot: 'cd', display: 'none' });
  const out = new Map<string, { bus: string; unit: number }>();
  for (const [i, w] of argv.entries()) {
    if (argv[i - 1] !== '-device' || !/^ide-(hd|cd),/.test(w)) continue;
    const f = Object.fromEntries(w.split(',').slice(1).map((kv) => kv.split('=') as [string, string]));
    out.set(f['drive']!, { bus: f['bus']!, unit: Number(f['unit'] ?? 0) });
  }
  return out;
}

/** The guest definition a profile's run used (a disk, the boot CD, the shared CD, user networking). */
export function profileGuest(os: OsEntry, name: string): Guest {
  return {
    name,
    os: os.id,
    ram: os.ramMb,
    disk: '/disk.qcow2',
    disk_format: 'qcow2',
    cdrom: '/boot.iso',
    share: '/share.iso',
    net: 'user',
    resolution: os.resolution,
  } as Guest;
}

/** Everything wrong with a profile's record, against the catalog entry: [] when the real guest saw what the profile promises. */
export function checkRecord(os: OsEntry, r: ProfileRecord, cpuHelp: string): string[] {
  const bad: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) bad.push(`${os.id}: ${what}`);
  };
  const kvm = r.accel === 'kvm';
  const cpu = canonicalCpu(kvm ? os.kvm.defaultCpu : os.tcg.defaultCpu);
  expect(r.guest.cpu === cpu, `ran with CPU ${r.guest.cpu}, the profile's ${kvm ? 'KVM-PR' : 'TCG'} default is ${cpu}`);
  if (kvm) {
    expect(os.kvm.works, `ran under KVM-PR, which the profile does not allow (${os.kvm.note})`);
    // Both QEMUs (the first, and the one the launcher restarted after the reset) said KVM themselves.
    expect(r.qmpAccel?.length === 2 && r.qmpAccel.every((a) => a === 'kvm'), `QEMU's accelerator over QMP: ${JSON.stringify(r.qmpAccel)}, expected kvm before and after the reset`);
  }
  expect(r.guest.ram === os.ramMb, `ran with ${r.guest.ram} MiB, the profile says ${os.ramMb}`);
  expect(r.guest.resolution === os.resolution, `ran at ${r.guest.resolution}, the profile says ${os.resolution}`);
  expect(r.guest.nic === os.nics[0], `ran with NIC ${r.guest.nic}, the profile's first is ${os.nics[0]}`);
  expect(r.reports.length === 2 && r.reports[0]!.boot === 1 && r.reports[1]!.boot === 2, `expected a report from each of 2 boots (reboot in between), got boots [${r.reports.map((x) => x.boot).join(', ')}]`);
  expect(r.restarts === 1, `the launcher restarted QEMU ${r.restarts} times after a guest reset, expected once`);
  expect(r.stop.code === 0 && !r.stop.runningAfter, `stop exited ${r.stop.code}, running afterwards: ${r.stop.runningAfter}`);
  const [w, h, depth] = os.resolution.split('x');
  expect(r.screenshot.width === Number(w) && r.screenshot.height === Number(h), `screenshot is ${r.screenshot.width}x${r.screenshot.height}, the profile's resolution ${w}x${h}`);
  const pvr = pvrTable(cpuHelp).get(cpu);
  const placement = drivePlacement(profileGuest(os, r.profile), os, r.accel, cpu);
  for (const rep of r.reports) {
    const at = `boot ${rep.boot}`;
    expect(pvr !== undefined && reportedPvr(rep.cpuinfo) === pvr, `${at}: PVR ${reportedPvr(rep.cpuinfo)}, QEMU's ${cpu} is ${pvr}`);
    // MemTotal is RAM less what the kernel keeps for itself (its image, page tables): within 8 %.
    expect(rep.memTotalKb <= os.ramMb * 1024 && rep.memTotalKb > os.ramMb * 1024 * 0.92, `${at}: MemTotal ${rep.memTotalKb} kB for ${os.ramMb} MiB`);
    const disks = rep.blocks.filter((b) => b.scsiType === '0');
    const cds = rep.blocks.filter((b) => b.scsiType === '5');
    expect(disks.length === 1 && cds.length === 2, `${at}: ${disks.length} disk(s) and ${cds.length} CD(s), expected 1 and 2`);
    const onBus = (dev: string | undefined, drive: string) => {
      const p = placement.get(drive);
      // libata: .../ata-N/ataK/hostH/targetH:0:UNIT/H:0:UNIT:0 (master 0, slave 1)
      return p !== undefined && dev !== undefined && dev.includes(`.${IDE_NODE[p.bus]}/`) && new RegExp(`/\\d+:0:${p.unit}:0$`).test(dev);
    };
    expect(disks.length === 1 && onBus(disks[0]!.device, 'hd0'), `${at}: the disk is at ${disks[0]?.device}, expected on ${JSON.stringify(placement.get('hd0'))}`);
    const shareCd = cds.find((c) => c.files?.some((f) => r.shared.some((s) => s.path === f.path)));
    const bootCd = cds.find((c) => c !== shareCd);
    expect(bootCd !== undefined && onBus(bootCd.device, 'cd0'), `${at}: the boot CD is at ${bootCd?.device}, expected on ${JSON.stringify(placement.get('cd0'))}`);
    expect(shareCd !== undefined && onBus(shareCd.device, 'cd1'), `${at}: the shared CD is at ${shareCd?.device}, expected on ${JSON.stringify(placement.get('cd1'))}`);
    const seen = new Map((shareCd?.files ?? []).map((f) => [f.path, f]));
    for (const f of r.shared) {
      const g = seen.get(f.path);
      expect(g !== undefined && g.size === f.size && g.sha256 === f.sha256, `${at}: shared file ${f.path} reads ${g ? `${g.size} bytes sha256 ${g.sha256}` : 'missing'}, the host has ${f.size} bytes sha256 ${f.sha256}`);
    }
    expect(rep.nics.length === 1, `${at}: ${rep.nics.length} network interfaces`);
    const nic = rep.nics[0];
    expect(nic?.driver === NIC_DRIVER[r.guest.nic], `${at}: NIC bound by ${nic?.driver}, expected ${NIC_DRIVER[r.guest.nic]} for ${r.guest.nic}`);
    // QEMU's user network hands out 10.0.2.15 first (slirp: vdhcp_start, docs/system/devices/net.rst).
    expect(nic?.ipv4 === '10.0.2.15', `${at}: NIC address ${nic?.ipv4}, expected 10.0.2.15 from QEMU's user network`);
    const inputs = inputDevices(rep.inputDevices ?? '');
    const has = (bus: string, kind: InputDevice['kind']) => inputs.some((d) => d.bus === bus && d.kind === kind);
    const bus = os.via === 'cuda' ? BUS_ADB : BUS_USB;
    expect(has(bus, 'keyboard') && has(bus, 'mouse'), `${at}: ${VIA_INPUT[os.via]} promised; the guest has ${inputs.map((d) => `${d.name} (bus ${d.bus}, ${d.kind})`).join('; ')}`);
    if (os.via === 'cuda') expect(!has(BUS_USB, 'keyboard') && !has(BUS_USB, 'mouse'), `${at}: a USB keyboard or mouse with via=cuda`);
    else expect(!has(BUS_ADB, 'keyboard') && !has(BUS_ADB, 'mouse'), `${at}: an ADB keyboard or mouse with via=pmu`);
    const tablet = has(BUS_USB, 'tablet');
    expect(tablet === (os.pointer === 'usb-tablet'), `${at}: USB tablet ${tablet ? 'present' : 'absent'}, the profile's pointer is ${os.pointer}`);
    expect(rep.framebuffer.virtualSize === `${w},${h}`, `${at}: framebuffer ${rep.framebuffer.virtualSize}, expected ${w},${h}`);
    expect(rep.framebuffer.bitsPerPixel === depth, `${at}: framebuffer depth ${rep.framebuffer.bitsPerPixel}, expected ${depth}`);
    if (r.served) {
      expect(rep.share?.putStatus === 201 || rep.share?.putStatus === 204 || rep.share?.putStatus === 200, `${at}: PUT to the share answered ${rep.share?.putStatus}`);
      expect(rep.share?.getStatus === 200 && rep.share.getSha256 === r.served.sha256 && rep.share.getSize === r.served.size, `${at}: GET from the share: ${JSON.stringify(rep.share)}`);
    }
  }
  return bad;
}
