import { describeCommandFailure } from '../../host/host.js';
import { accelNames, displayBackends, machineNames, qemuVersion, WINDOW_BACKENDS } from '../../parse/qemu.js';
import { compareVersions } from '../../parse/kernel-release.js';
import type { Nic } from '../../guests/catalog.js';
import { QEMU_PROGRAM, type Facts } from '../../host/facts.js';
import type { Fix, Step, StepResult } from '../step.js';
import { isPowerArch } from './common.js';
import { installHint, qemuPackage, type QemuPiece } from '../../distro/distro.js';
import { extraWanted, qemuPackages } from './qemu-packages.js';

/** mac99 under KVM-PR works from QEMU 3.0 [inferred: the oldest release reported working, not seen here]; older builds are warned about. */
export const MIN_QEMU = [3, 0, 0] as const;

/** The fix that installs a piece, with the package this distribution has it in (src/distro/table.ts). */
async function installFix(facts: Facts, piece: QemuPiece, what: string): Promise<Fix> {
  const d = await facts.distro();
  const cmd = installHint(d, [qemuPackage(d, piece)]);
  return { text: cmd ? `Install ${what}.` : `Install ${what} (talos-mac does not know its package on ${d.name}).`, ...(cmd ? { commands: [cmd] } : {}) };
}

/** The shared first gate of every QEMU check: the binary must answer --version. */
export async function qemuMissing(facts: Facts): Promise<StepResult | undefined> {
  const version = await facts.qemu('version');
  if (version.exitCode === 0) return undefined;
  return { state: 'blocked', summary: `needs ${QEMU_PROGRAM} (${describeCommandFailure(version)})`, status: 'skip' };
}

export const qemuBinary: Step = {
  id: 'qemu.binary',
  category: 'QEMU',
  title: 'Install qemu-system-ppc (3.0 or newer)',
  severity: 'required',
  // A getter: qemu-packages.ts imports these checks (an import cycle read only when asked).
  get fixedBy() {
    return qemuPackages;
  },
  async verify({ facts }) {
    const version = await facts.qemu('version');
    if (version.notRecorded || version.timedOut) return { state: 'unknown', summary: describeCommandFailure(version) };
    if (version.exitCode !== 0) return { state: 'todo', summary: describeCommandFailure(version), fix: await installFix(facts, 'qemu-system-ppc', QEMU_PROGRAM) };
    const v = qemuVersion(version.stdout);
    if (!v) return { state: 'unknown', summary: `cannot read a version from: ${version.stdout.trim().split('\n')[0]}` };
    const parts = v.split('.').map(Number);
    if (compareVersions(parts, MIN_QEMU) < 0) {
      return {
        state: 'todo',
        status: 'warn',
        summary: `qemu-system-ppc ${v} is older than 3.0: mac99 with KVM-PR and current OpenBIOS need 3.0 or newer`,
        manual: 'setup installs QEMU where it is missing; it does not replace an installed one',
        fix: await installFix(facts, 'qemu-system-ppc', QEMU_PROGRAM),
      };
    }
    return { state: 'done', summary: `qemu-system-ppc ${v}`, detail: version.stdout.trim() };
  },
};

export const qemuMac99: Step = {
  id: 'qemu.mac99',
  category: 'QEMU',
  title: 'Have the mac99 machine',
  severity: 'required',
  async verify({ facts }) {
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const machines = await facts.qemu('machines');
    if (machines.exitCode !== 0) return { state: 'unknown', summary: describeCommandFailure(machines) };
    if (machineNames(machines.stdout).has('mac99')) return { state: 'done', summary: 'mac99 (PowerMac G4 "New World") is available' };
    return { state: 'todo', summary: 'this qemu-system-ppc has no mac99 machine', fix: await installFix(facts, 'qemu-system-ppc', QEMU_PROGRAM) };
  },
};

export const qemuKvmAccel: Step = {
  id: 'qemu.kvm-accel',
  category: 'QEMU',
  title: 'Use a QEMU built with KVM',
  severity: 'required',
  async verify({ facts }) {
    const arch = await facts.arch();
    if (arch.ok && !isPowerArch(arch.value)) return { state: 'not-applicable', summary: `KVM-PR needs a POWER host; on ${arch.value} QEMU uses TCG` };
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const accels = await facts.qemu('accels');
    if (accels.exitCode !== 0) return { state: 'unknown', summary: describeCommandFailure(accels) };
    const names = accelNames(accels.stdout);
    if (names.has('kvm')) return { state: 'done', summary: `accelerators: ${[...names].join(', ')}` };
    return {
      state: 'todo',
      summary: `this qemu-system-ppc was built without KVM (accelerators: ${[...names].join(', ') || 'none'})`,
      fix: { text: "Install your distribution's qemu-system-ppc on this POWER host (it is built with KVM), or build QEMU with --enable-kvm." },
    };
  },
};

export const qemuImg: Step = {
  id: 'qemu.img',
  category: 'QEMU',
  title: 'Install qemu-img',
  severity: 'required',
  get fixedBy() {
    return qemuPackages;
  },
  async verify({ facts }) {
    const r = await facts.qemuImg();
    if (r.notRecorded || r.timedOut) return { state: 'unknown', summary: describeCommandFailure(r) };
    if (r.exitCode !== 0) return { state: 'todo', summary: describeCommandFailure(r), fix: await installFix(facts, 'qemu-img', 'qemu-img') };
    return { state: 'done', summary: `qemu-img ${qemuVersion(r.stdout) ?? '(version unknown)'}` };
  },
};

interface DataFile {
  id: string;
  title: string;
  /** The name QEMU looks up in its data directories. */
  file: string;
  /** What QEMU needs it for, for the summary. */
  role: string;
  /** What brings it; none: only manualFix helps. */
  piece?: QemuPiece;
  /** How to name what to install. */
  what: string;
  /** info: QEMU starts without it, something inside the guest is missing (default: required). */
  severity?: 'required' | 'info';
  /** What happens without it, when QEMU still starts. */
  without?: string;
  /** The fix when no package has it. */
  manualFix?: string;
}

/** A check that QEMU will find one of its data files, looked up the way QEMU looks (Facts.qemuDataFile). */
function dataFileStep(d: DataFile): Step {
  return {
    id: d.id,
    category: 'QEMU',
    title: d.title,
    severity: d.severity ?? 'required',
    get fixedBy() {
      return d.piece ? qemuPackages : undefined;
    },
    async verify({ facts }) {
      const missing = await qemuMissing(facts);
      if (missing) return missing;
      const r = await facts.qemuDataFile(d.file);
      if (r.found !== undefined) return { state: 'done', summary: `${d.role}: ${r.found}` };
      if (r.unknown) return { state: 'unknown', summary: r.unknown };
      const unusable = r.unusable.length ? `; unusable: ${r.unusable.join(', ')}` : '';
      const fix = d.manualFix || !d.piece ? { text: d.manualFix ?? `Install ${d.what}.` } : await installFix(facts, d.piece, `${d.what}: QEMU loads ${d.file} as ${d.role}`);
      return {
        state: 'todo',
        summary: `${d.file} not found: ${d.without ?? 'QEMU cannot start mac99 without it'} (looked in ${r.dirs.join(', ')}${unusable})`,
        fix,
      };
    },
  };
}

/** hw/ppc/mac_newworld.c loads PROM_FILENAME "openbios-ppc" from the data directories. */
export const qemuFirmware = dataFileStep({
  id: 'qemu.firmware',
  title: 'Install the OpenBIOS firmware',
  file: 'openbios-ppc',
  role: "mac99's firmware",
  piece: 'openbios',
  what: 'the OpenBIOS firmware for PowerPC (openbios-ppc)',
});

/** mac99 always has a std VGA card (-vga std), whose option ROM QEMU loads even with -display none (hw/display/vga-pci.c). */
export const qemuVgaRom = dataFileStep({
  id: 'qemu.vga-rom',
  title: 'Install the VGA BIOS',
  file: 'vgabios-stdvga.bin',
  role: "the ROM of mac99's VGA card",
  piece: 'vga-rom',
  what: 'the SeaBIOS VGA BIOS',
});

/**
 * The option ROM each NIC model of the catalog makes QEMU load: rtl8139's romfile is
 * efi-rtl8139.rom (hw/net/rtl8139.c); sungem has none (it starts with no ipxe-qemu, seen here).
 */
/**
 * Mac OS 9's display driver: with `vga-ndrv?=true` (the catalog's OS 9 entry) OpenBIOS hands it to
 * the guest, which can then change resolution and depth. QEMU looks for it (seen with strace on
 * 7.2) and starts without it; Debian's qemu-system-data does not ship it.
 */
export const qemuVgaNdrv = dataFileStep({
  id: 'qemu.vga-ndrv',
  title: 'Have the Mac OS 9 VGA driver (qemu_vga.ndrv)',
  file: 'qemu_vga.ndrv',
  role: "Mac OS 9's driver for QEMU's VGA card",
  what: "QEMU's qemu_vga.ndrv",
  severity: 'info',
  without: 'Mac OS 9 guests keep the firmware resolution (no resolution or depth switching)',
  manualFix: "Only if you run Mac OS 9 and want other resolutions: copy qemu_vga.ndrv from QEMU's source (pc-bios/qemu_vga.ndrv, the version matching this QEMU) into one of QEMU's data directories (qemu-system-ppc -L help).",
});

export const NIC_ROMS: Readonly<Record<Nic, string | undefined>> = { rtl8139: 'efi-rtl8139.rom', sungem: undefined };

export const qemuNicRoms: Readonly<Partial<Record<Nic, Step>>> = Object.fromEntries(
  Object.entries(NIC_ROMS)
    .filter((e): e is [Nic, string] => e[1] !== undefined)
    .map(([nic, file]) => [
      nic,
      dataFileStep({ id: `qemu.nic-rom.${nic}`, title: `Install the ${nic} network ROM`, file, role: `the option ROM of the ${nic} network card`, piece: 'nic-rom', what: 'the iPXE option ROMs for QEMU' }),
    ]),
);

/**
 * Without a window backend (gtk, sdl) QEMU does not fail: it quietly serves the screen over VNC on
 * localhost:5900 instead (ui/vnc default in softmmu/vl.c). So a window is checked, and asked for by name.
 */
export const qemuWindow: Step = {
  id: 'qemu.display-window',
  category: 'QEMU',
  title: 'Have a window display for QEMU',
  severity: 'advisory',
  get fixedBy() {
    return qemuPackages;
  },
  async verify(ctx) {
    const { facts } = ctx;
    // Without a desktop session setup installs the window module only when asked (qemu-packages.ts).
    const asked = extraWanted('window', ctx) ? {} : { onlyWith: '--with-window' };
    const missing = await qemuMissing(facts);
    if (missing) return { ...missing, ...asked };
    const r = await facts.qemu('displays');
    if (r.exitCode !== 0) return { state: 'unknown', summary: describeCommandFailure(r) };
    const all = displayBackends(r.stdout);
    const windows = all.filter((b) => WINDOW_BACKENDS.includes(b));
    const noDesktop = 'no desktop session here (DISPLAY and WAYLAND_DISPLAY are unset), so launch shows guests over VNC on localhost';
    if (windows.length > 0) return { state: 'done', summary: `window display: ${windows.join(', ')}`, ...(ctx.options.desktop === false ? { detail: `but ${noDesktop}` } : {}) };
    const fix = await installFix(facts, 'window', "QEMU's GTK or SDL display module");
    // Without a desktop no window could open: the module's absence is information, not a warning (setup still offers it).
    if (ctx.options.desktop === false && !extraWanted('window', ctx)) {
      return {
        state: 'todo',
        status: 'info',
        summary: `no window module, and none needed: ${noDesktop} (or the serial console with --display serial)`,
        ...asked,
        fix: { ...fix, text: `${fix.text.replace(/\.$/, '')} and run from a desktop session for a window (setup --with-window installs it).` },
      };
    }
    return {
      state: 'todo',
      summary: `no window: this QEMU has no GTK or SDL display (it has: ${all.join(', ') || 'none'}); use --display vnc or --display serial`,
      ...asked,
      fix: { ...fix, text: `${fix.text.replace(/\.$/, '')} for a window, or launch with --display vnc (then a VNC viewer) or --display serial.` },
    };
  },
};

export const qemuSteps: Step[] = [qemuBinary, qemuMac99, qemuKvmAccel, qemuImg, qemuFirmware, qemuVgaRom, ...Object.values(qemuNicRoms), qemuVgaNdrv, qemuWindow];
