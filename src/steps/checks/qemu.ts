import { describeCommandFailure } from '../../host/host.js';
import { accelNames, dataDirs, machineNames, qemuVersion } from '../../parse/qemu.js';
import { compareVersions } from '../../parse/kernel-release.js';
import type { Facts } from '../facts.js';
import type { Fix, Step, StepResult } from '../step.js';
import { installCommand, isPowerArch } from './common.js';

/** mac99 under KVM-PR works from QEMU 3.0 (the Talospace series used 3.0); older builds are warned about. */
export const MIN_QEMU = [3, 0, 0] as const;

async function installFix(facts: Facts, what: 'qemu' | 'img' | 'firmware'): Promise<Fix> {
  const pkgs = {
    qemu: { debian: 'qemu-system-ppc', fedora: 'qemu-system-ppc', suse: 'qemu-ppc', arch: 'qemu-system-ppc' },
    img: { debian: 'qemu-utils', fedora: 'qemu-img', suse: 'qemu-tools', arch: 'qemu-img' },
    firmware: { debian: 'qemu-system-data', fedora: 'openbios', suse: 'qemu-ppc', arch: 'qemu-system-ppc-firmware' },
  }[what];
  const cmd = await installCommand(facts, pkgs);
  const name = { qemu: 'qemu-system-ppc', img: 'qemu-img', firmware: 'the OpenBIOS firmware for PowerPC (openbios-ppc)' }[what];
  return { text: `Install ${name}.`, ...(cmd ? { commands: [cmd] } : {}) };
}

/** The shared first gate of every QEMU check: the binary must answer --version. */
async function qemuMissing(facts: Facts): Promise<StepResult | undefined> {
  const q = await facts.qemu();
  if (q.version.exitCode === 0) return undefined;
  return { state: 'blocked', summary: `needs qemu-system-ppc (${describeCommandFailure(q.version)})`, status: 'skip' };
}

const binary: Step = {
  id: 'qemu.binary',
  category: 'QEMU',
  title: 'Install qemu-system-ppc (3.0 or newer)',
  severity: 'required',
  async verify({ facts }) {
    const { version } = await facts.qemu();
    if (version.notRecorded || version.timedOut) return { state: 'unknown', summary: describeCommandFailure(version) };
    if (version.exitCode !== 0) return { state: 'todo', summary: describeCommandFailure(version), fix: await installFix(facts, 'qemu') };
    const v = qemuVersion(version.stdout);
    if (!v) return { state: 'unknown', summary: `cannot read a version from: ${version.stdout.trim().split('\n')[0]}` };
    const parts = v.split('.').map(Number);
    if (compareVersions(parts, MIN_QEMU) < 0) {
      return {
        state: 'todo',
        status: 'warn',
        summary: `qemu-system-ppc ${v} is older than 3.0: mac99 with KVM-PR and current OpenBIOS need 3.0 or newer`,
        fix: await installFix(facts, 'qemu'),
      };
    }
    return { state: 'done', summary: `qemu-system-ppc ${v}`, detail: version.stdout.trim() };
  },
};

const mac99: Step = {
  id: 'qemu.mac99',
  category: 'QEMU',
  title: 'Have the mac99 machine',
  severity: 'required',
  async verify({ facts }) {
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const { machines } = await facts.qemu();
    if (machines.exitCode !== 0) return { state: 'unknown', summary: describeCommandFailure(machines) };
    if (machineNames(machines.stdout).has('mac99')) return { state: 'done', summary: 'mac99 (PowerMac G4 "New World") is available' };
    return { state: 'todo', summary: 'this qemu-system-ppc has no mac99 machine', fix: await installFix(facts, 'qemu') };
  },
};

const kvmAccel: Step = {
  id: 'qemu.kvm-accel',
  category: 'QEMU',
  title: 'Use a QEMU built with KVM',
  severity: 'required',
  async verify({ facts }) {
    const arch = await facts.arch();
    if (arch.ok && !isPowerArch(arch.value)) return { state: 'not-applicable', summary: `KVM-PR needs a POWER host; on ${arch.value} QEMU uses TCG` };
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const { accels } = await facts.qemu();
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

const img: Step = {
  id: 'qemu.img',
  category: 'QEMU',
  title: 'Install qemu-img',
  severity: 'required',
  async verify({ facts }) {
    const { img: r } = await facts.qemu();
    if (r.notRecorded || r.timedOut) return { state: 'unknown', summary: describeCommandFailure(r) };
    if (r.exitCode !== 0) return { state: 'todo', summary: describeCommandFailure(r), fix: await installFix(facts, 'img') };
    return { state: 'done', summary: `qemu-img ${qemuVersion(r.stdout) ?? '(version unknown)'}` };
  },
};

const FALLBACK_DATA_DIRS = ['/usr/share/qemu', '/usr/local/share/qemu', '/usr/share/openbios'];

const firmware: Step = {
  id: 'qemu.firmware',
  category: 'QEMU',
  title: 'Install the OpenBIOS firmware',
  severity: 'required',
  async verify({ facts }) {
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const { dataDirs: r } = await facts.qemu();
    const dirs = r.exitCode === 0 ? dataDirs(r.stdout) : [];
    const candidates = [...new Set([...dirs, ...FALLBACK_DATA_DIRS])].map((d) => `${d}/openbios-ppc`);
    for (const path of candidates) {
      const info = await facts.pathInfo(path);
      if (info.exists) return { state: 'done', summary: path };
      if (info.notRecorded) return { state: 'unknown', summary: `the snapshot has no record of ${path}` };
    }
    return {
      state: 'todo',
      summary: `openbios-ppc not found (looked in ${[...new Set([...dirs, ...FALLBACK_DATA_DIRS])].join(', ')})`,
      fix: await installFix(facts, 'firmware'),
    };
  },
};

export const qemuSteps: Step[] = [binary, mac99, kvmAccel, img, firmware];
