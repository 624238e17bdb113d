import { kernelSteps } from './checks/kernel.js';
import { kernelUpdateSteps } from './checks/kernel-updates.js';
import { kvmDevice, kvmPrLoaded, kvmSteps } from './checks/kvm.js';
import { mmuActive, mmuSteps } from './checks/mmu.js';
import { platformSteps } from './checks/platform.js';
import { qemuKvmAccel, qemuSteps } from './checks/qemu.js';
import { qemuPackages, toolSteps } from './checks/qemu-packages.js';
import { qemuSound } from './checks/sound.js';
import { liveShareServers } from './checks/live-share.js';
import type { Step } from './step.js';

/**
 * Every host concern, once, in the order setup must take them (a step comes after what it builds
 * on). doctor runs every verify, in this order; setup runs the steps it can fix, in this order,
 * verify → apply → verify. Ids are stable: scripts and docs/checks.md name them.
 */
export const STEPS: readonly Step[] = [...platformSteps, ...mmuSteps, ...kernelSteps, ...kernelUpdateSteps, ...kvmSteps, qemuPackages, ...qemuSteps, qemuSound, ...toolSteps, liveShareServers];

/** The steps setup takes: those it can change, and those a change of it fixes (shown as it goes). */
export const SETUP_STEPS: readonly Step[] = STEPS.filter((s) => s.apply !== undefined || s.fixedBy !== undefined);

/** A step by its id, or by an id it had before (docs/checks.md lists the renames). */
export function stepById(id: string, steps: readonly Step[] = STEPS): { step: Step; renamedFrom?: string } | undefined {
  const step = steps.find((s) => s.id === id);
  if (step) return { step };
  const renamed = steps.find((s) => s.aliases?.includes(id));
  return renamed ? { step: renamed, renamedFrom: id } : undefined;
}

/** What a KVM-PR launch depends on: hash MMU, kvm_pr loaded, /dev/kvm usable, QEMU with KVM. */
export const KVM_HOST_CHECKS: readonly Step[] = [mmuActive, kvmPrLoaded, kvmDevice, qemuKvmAccel];

/** The step an undo record's entry names: by its id, an earlier id, or a name older versions recorded its changes under. */
export function stepOfRecord(name: string, steps: readonly Step[] = STEPS): Step | undefined {
  return stepById(name, steps)?.step ?? steps.find((s) => s.recordedAs?.includes(name));
}
