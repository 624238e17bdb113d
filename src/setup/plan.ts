import { kvmDeviceAccess } from '../steps/host-changes/access.js';
import { kvmPrAvailable } from '../steps/host-changes/kvm-pr-available.js';
import { loadKvmPr, unloadKvmHv } from '../steps/host-changes/modules.js';
import { hashMmuNextBoot } from '../steps/host-changes/mmu-hash.js';
import type { Step } from '../steps/step.js';
import type { SetupDeps, SetupStepFactory } from './deps.js';

/**
 * setup's steps, in the order they must happen. One line per step: the kernel pipeline (issue 5)
 * replaces or follows `kvmPrAvailable`. kvm_hv comes last: it is advice, and a "no" must not stop
 * the steps that matter.
 */
export const SETUP_PLAN: readonly SetupStepFactory[] = [hashMmuNextBoot, kvmPrAvailable, loadKvmPr, kvmDeviceAccess, unloadKvmHv];

export function buildPlan(deps: SetupDeps, plan: readonly SetupStepFactory[] = SETUP_PLAN): Step[] {
  return plan.map((make) => make(deps));
}
