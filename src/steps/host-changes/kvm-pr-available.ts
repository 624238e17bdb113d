import type { SetupStepFactory } from '../../setup/deps.js';
import { unlessPower } from '../checks/common.js';
import { assessKvmPr, PR_VERDICT_TEXT } from '../checks/kvm-pr-verdict.js';
import type { Step, StepResult } from '../step.js';

/**
 * The slot for the kernel pipeline (issue 5): verify only, for now. When the pipeline exists, its
 * apply (build kvm-pr.ko, or a new kernel) plugs in here.
 */
export const kvmPrAvailable: SetupStepFactory = (): Step => ({
  id: 'kernel.kvm-pr-available',
  category: 'Kernel',
  title: 'Have a kvm-pr module for the running kernel',
  severity: 'required',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const a = await assessKvmPr(ctx.facts);
    switch (a.verdict) {
      case 'ready':
      case 'module-needs-loading':
        return { state: 'done', summary: a.moduleFile ? `kvm-pr is available (${a.moduleFile})` : a.reason };
      case 'not-applicable':
        return { state: 'not-applicable', summary: a.reason };
      case 'unknown':
        return { state: 'unknown', summary: `cannot tell whether this kernel has kvm-pr: ${a.reason}` };
      case 'module-must-be-built':
      case 'new-kernel-needed':
        return {
          state: 'todo',
          summary: `${a.verdict === 'new-kernel-needed' ? 'a new kernel is needed' : PR_VERDICT_TEXT[a.verdict]}: ${a.reason}`,
          fix: {
            text:
              a.verdict === 'new-kernel-needed'
                ? 'Install or build a kernel with CONFIG_KVM_BOOK3S_64_PR=m (setup does not build kernels yet).'
                : 'Build kvm-pr.ko for this kernel (setup does not build modules yet).',
          },
        };
    }
  },
});
