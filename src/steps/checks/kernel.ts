import { undoPrModules } from '../../kernel/module-load.js';
import { undoNewKernel } from '../../kernel/new-kernel-undo.js';
import { configValue } from '../../parse/kconfig.js';
import type { Step } from '../step.js';
import { unlessPower } from './common.js';
import { assessKvmPr } from './kvm-pr-verdict.js';
import { prConfigProblem } from '../../kernel/config.js';
import { kernelVersion } from '../../parse/kernel-release.js';
import { buildAndInstallKernel, buildAndLoadModule, buildTools, kernelHeaders, kernelSource, moduleBuildResult, moduleInstalled, newKernelResult } from './kernel-build.js';

const CONFIG_KEYS = [
  'CONFIG_KVM_BOOK3S_PR_POSSIBLE',
  'CONFIG_KVM_BOOK3S_64_PR',
  'CONFIG_KVM_BOOK3S_64_HV',
  'CONFIG_NO_HZ_FULL',
  'CONFIG_CONTEXT_TRACKING_USER',
  'CONFIG_PPC_RADIX_MMU_DEFAULT',
  'CONFIG_MODVERSIONS',
  'CONFIG_MODULE_SIG_FORCE',
];


const release: Step = {
  id: 'kernel.release',
  category: 'Kernel',
  title: 'Identify the running kernel',
  severity: 'info',
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const rel = await ctx.facts.release();
    if (!rel.ok) return { state: 'unknown', summary: `cannot tell the kernel release: ${rel.reason}` };
    const v = kernelVersion(rel.value);
    const cfg = await ctx.facts.kernelConfig();
    return {
      state: 'done',
      summary: `Linux ${rel.value}${v ? '' : ' (no version number in the release string)'}`,
      detail: cfg.ok ? `configuration: ${cfg.source}` : `configuration: not readable (${cfg.reason})`,
    };
  },
};

export const kernelPrSupport: Step = {
  id: 'kernel.pr-support',
  aliases: ['kernel.build-kernel'],
  recordedAs: ['kernel build-kernel'],
  category: 'Kernel',
  title: 'Run a kernel that can do KVM-PR',
  severity: 'required',
  undo: undoNewKernel,
  runningSystemOnly: true,
  apply: buildAndInstallKernel,
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const [cfg, rel] = await Promise.all([ctx.facts.kernelConfig(), ctx.facts.release()]);
    if (!cfg.ok) {
      const a = await assessKvmPr(ctx.facts);
      if (a.verdict === 'ready') return { state: 'done', summary: 'kvm_pr is loaded (kernel configuration not readable)', detail: cfg.reason };
      return {
        state: 'unknown',
        summary: 'cannot read the kernel configuration to tell whether it can do KVM-PR',
        detail: cfg.reason,
        fix: { text: 'Reinstall the package that holds this kernel\'s config file (/boot/config-$(uname -r), or /usr/lib/modules/$(uname -r)/config on Debian 14), or enable CONFIG_IKCONFIG_PROC.' },
      };
    }
    const detail = [`from ${cfg.source}:`, ...CONFIG_KEYS.map((k) => `  ${k}=${configValue(cfg.value, k)}`)].join('\n');
    const problem = prConfigProblem(cfg.value, rel.ok ? kernelVersion(rel.value) : undefined);
    if (problem) {
      const built = await newKernelResult(ctx, await assessKvmPr(ctx.facts));
      if (built.state === 'reboot-required') return { ...built, detail };
      return { ...built, summary: `this kernel was ${problem}: a new kernel is needed`, detail: `${detail}\n${built.detail ?? ''}` };
    }
    return { state: 'done', summary: `KVM-PR supported (CONFIG_KVM_BOOK3S_64_PR=${configValue(cfg.value, 'CONFIG_KVM_BOOK3S_64_PR')})`, detail };
  },
};

export const kernelPrModule: Step = {
  id: 'kernel.pr-module',
  aliases: ['kernel.build-module'],
  recordedAs: ['kernel build-module'],
  category: 'Kernel',
  title: 'Install a kvm-pr module for the running kernel',
  severity: 'required',
  undo: undoPrModules,
  runningSystemOnly: true,
  apply: buildAndLoadModule,
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const a = await assessKvmPr(ctx.facts);
    switch (a.verdict) {
      case 'ready':
      case 'module-needs-loading':
        return { state: 'done', summary: a.moduleFile === 'builtin' ? 'kvm_pr is built into the kernel' : a.moduleFile ? a.moduleFile : a.reason };
      case 'module-must-be-built':
        if (!a.needsPatch) return moduleBuildResult(ctx, a);
        return {
          state: 'todo',
          summary: a.reason,
          detail: 'The upstream change could not be verified, so no patch is guessed at.',
          manual: 'kernels before 4.18 need a POWER9 enablement patch to kvm-pr, which talos-mac does not ship',
          fix: { text: 'Kernels before 4.18 need kvm-pr patched for POWER9 by hand (see the 2018 Talospace recipe), or install a kernel >= 4.18.' },
        };
      case 'new-kernel-needed':
        return { state: 'not-applicable', summary: 'no module can help: the kernel itself lacks KVM-PR (see kernel.pr-support)' };
      default:
        return { state: 'unknown', summary: a.reason };
    }
  },
};

/** In setup's order: what a build needs comes before the builds. */
export const kernelSteps: Step[] = [release, buildTools, kernelSource, kernelHeaders, kernelPrSupport, kernelPrModule, moduleInstalled];
