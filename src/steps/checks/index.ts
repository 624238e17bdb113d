import type { Step } from '../step.js';
import { kernelSteps } from './kernel.js';
import { kvmSteps } from './kvm.js';
import { mmuSteps } from './mmu.js';
import { platformSteps } from './platform.js';
import { qemuSteps } from './qemu.js';

/** Every doctor check, in report order. Ids are stable: scripts and docs/checks.md name them. */
export const doctorChecks: readonly Step[] = [...platformSteps, ...mmuSteps, ...kernelSteps, ...kvmSteps, ...qemuSteps];
