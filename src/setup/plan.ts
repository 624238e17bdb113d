import { kvmDeviceAccess } from '../steps/host-changes/access.js';
import { kernelSetupFactories } from '../kernel/steps.js';
import { loadKvmPr, unloadKvmHv } from '../steps/host-changes/modules.js';
import { hashMmuNextBoot } from '../steps/host-changes/mmu-hash.js';
import type { Step } from '../steps/step.js';
import type { SetupDeps, SetupStepFactory } from './deps.js';

/**
 * setup's steps, in the order they must happen: the boot loader first (a reboot may be needed
 * anyway), then the kernel pipeline (build tools, source, headers, kvm-pr module or a new
 * kernel), then loading and access. kvm_hv comes last: it is advice, and a "no" must not stop the
 * steps that matter.
 */
export const SETUP_PLAN: readonly SetupStepFactory[] = [hashMmuNextBoot, ...kernelSetupFactories().map(guardKernelStep), loadKvmPr, kvmDeviceAccess, unloadKvmHv];

/** The step with its apply removed, and the reason added to its fix. */
function withoutApply(step: Step, why: string, commands?: string[]): Step {
  const { apply: _apply, ...rest } = step;
  return {
    ...rest,
    async verify(ctx) {
      const r = await step.verify(ctx);
      if (r.state !== 'todo') return r;
      return { ...r, fix: { ...r.fix, text: `${r.fix?.text ?? ''} ${why}`.trim(), bySetup: false, ...(commands ? { commands } : {}) } };
    },
  };
}

/**
 * The kernel pipeline installs packages and kernels into the running system, so it never runs
 * under --root; and a whole kernel build (hours, many GB) starts only when asked by name.
 */
function guardKernelStep(make: (deps: SetupDeps) => Step): SetupStepFactory {
  return (deps) => {
    const step = make(deps);
    if (deps.root !== '/') return withoutApply(step, 'Not under --root: the kernel pipeline builds for and installs into the running system.');
    if (step.id === 'kernel.build-kernel' && !deps.buildKernel) {
      return withoutApply(step, 'It takes hours: start it with --build-kernel.', ['talos-mac setup --build-kernel']);
    }
    return step;
  };
}

export function buildPlan(deps: SetupDeps, plan: readonly SetupStepFactory[] = SETUP_PLAN): Step[] {
  return plan.map((make) => make(deps));
}
