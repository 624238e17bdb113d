import { configValue, type KernelConfig } from '../../parse/kconfig.js';
import { compareVersions, kernelVersion } from '../../parse/kernel-release.js';
import type { Facts } from '../../host/facts.js';
import { isPowerArch } from './common.js';
import { prConfigProblem } from '../../kernel/config.js';

export type PrVerdict = 'ready' | 'module-needs-loading' | 'module-must-be-built' | 'new-kernel-needed' | 'not-applicable' | 'unknown';

export const PR_VERDICT_TEXT: Record<PrVerdict, string> = {
  ready: 'kvm_pr is loaded',
  'module-needs-loading': 'the kvm_pr module needs loading',
  'module-must-be-built': 'the kvm_pr module must be built for this kernel',
  'new-kernel-needed': 'a new kernel is needed: this one cannot do KVM-PR',
  'not-applicable': 'not a POWER host',
  unknown: 'cannot tell',
};

export interface PrAssessment {
  verdict: PrVerdict;
  reason: string;
  release?: string;
  configSource?: string;
  moduleFile?: string;
  loaded?: boolean;
  /** Kernels before 4.18 need the POWER9 enablement patch, which talos-mac does not ship. */
  needsPatch?: boolean;
}

/** KVM-PR first loads on bare-metal POWER9 in 4.18; earlier kernels need a patch [inferred: the upstream commit is not confirmed]. */
export const FIRST_POWER9_PR_KERNEL = [4, 18, 0] as const;

async function isLoaded(facts: Facts, config: KernelConfig | undefined): Promise<boolean | undefined> {
  const mods = await facts.loadedModules();
  if (mods.ok && mods.value.has('kvm_pr')) return true;
  // Built-in modules are absent from /proc/modules but present in /sys/module.
  if (config && configValue(config, 'CONFIG_KVM_BOOK3S_64_PR') === 'y') {
    if ((await facts.pathInfo('/sys/module/kvm_pr')).exists) return true;
  }
  return mods.ok ? false : undefined;
}

/** Doctor's one-word answer to "what does this kernel need for KVM-PR?". */
export async function assessKvmPr(facts: Facts): Promise<PrAssessment> {
  const arch = await facts.arch();
  if (arch.ok && !isPowerArch(arch.value)) return { verdict: 'not-applicable', reason: `${arch.value} host` };
  const rel = await facts.release();
  if (!rel.ok) return { verdict: 'unknown', reason: `cannot tell the kernel release: ${rel.reason}` };
  const version = kernelVersion(rel.value);
  const cfg = await facts.kernelConfig();
  const config = cfg.ok ? cfg.value : undefined;
  const base = { release: rel.value, ...(cfg.ok ? { configSource: cfg.source } : {}) };
  const loaded = await isLoaded(facts, config);
  if (loaded) return { ...base, verdict: 'ready', reason: 'kvm_pr is loaded', loaded };
  if (version && compareVersions(version, FIRST_POWER9_PR_KERNEL) < 0) {
    return {
      ...base,
      verdict: 'module-must-be-built',
      needsPatch: true,
      reason: `kernel ${rel.value} is older than 4.18: kvm-pr needs the POWER9 enablement patch, which talos-mac does not ship yet (patch and rebuild kvm-pr by hand, or install a kernel >= 4.18)`,
    };
  }
  if (!config) return { ...base, verdict: 'unknown', reason: `cannot read this kernel's configuration: ${cfg.ok ? '' : cfg.reason}` };
  const problem = prConfigProblem(config, version);
  if (problem) return { ...base, verdict: 'new-kernel-needed', reason: `this kernel was ${problem}` };
  if (configValue(config, 'CONFIG_KVM_BOOK3S_64_PR') === 'y') {
    return { ...base, verdict: 'ready', reason: 'kvm_pr is built into the kernel', loaded: true, moduleFile: 'builtin' };
  }
  const file = await facts.prModuleFile();
  if (!file.ok) return { ...base, verdict: 'unknown', reason: file.reason };
  if (!file.value) {
    return {
      ...base,
      verdict: 'module-must-be-built',
      reason: `the kernel supports KVM-PR (CONFIG_KVM_BOOK3S_64_PR=m) but no kvm-pr.ko is installed for ${rel.value}`,
    };
  }
  return { ...base, verdict: 'module-needs-loading', reason: `${file.value} is installed but not loaded`, moduleFile: file.value, loaded: false };
}
