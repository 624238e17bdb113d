import { access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { configValue, isEnabled, type KernelConfig } from '../parse/kconfig.js';
import { compareVersions } from '../parse/kernel-release.js';

/** One `scripts/config` command. */
export type ConfigEdit =
  | { op: 'module' | 'enable' | 'disable'; key: string; why: string }
  | { op: 'set-str'; key: string; value: string; why: string };

const bare = (key: string) => key.replace(/^CONFIG_/, '');

export function scriptsConfigArgv(tree: string, edits: readonly ConfigEdit[]): string[] {
  const argv = [join(tree, 'scripts', 'config'), '--file', join(tree, '.config')];
  for (const e of edits) {
    if (e.op === 'set-str') argv.push('--set-str', bare(e.key), e.value);
    else argv.push(`--${e.op}`, bare(e.key));
  }
  return argv;
}

/**
 * The smallest change that lets a distro config build KVM-PR as a module.
 * Linux 6.1: KVM_BOOK3S_64_PR "depends on !CONTEXT_TRACKING_USER". CONTEXT_TRACKING_USER is
 * selected by NO_HZ_FULL and by VIRT_CPU_ACCOUNTING_GEN (init/Kconfig), so both must go:
 * NO_HZ_IDLE keeps tickless idle, VIRT_CPU_ACCOUNTING_NATIVE is the powerpc64 default accounting.
 */
export function prEdits(config: KernelConfig): ConfigEdit[] {
  const edits: ConfigEdit[] = [{ op: 'module', key: 'KVM_BOOK3S_64_PR', why: 'build KVM-PR as the kvm-pr module' }];
  if (configValue(config, 'CONFIG_NO_HZ_FULL') === 'y') {
    edits.push(
      { op: 'disable', key: 'NO_HZ_FULL', why: 'NO_HZ_FULL selects CONTEXT_TRACKING_USER, which KVM-PR excludes (Linux 6.1)' },
      { op: 'enable', key: 'NO_HZ_IDLE', why: 'keep the tickless idle behaviour without full dynticks' },
    );
  }
  if (configValue(config, 'CONFIG_VIRT_CPU_ACCOUNTING_GEN') === 'y') {
    edits.push(
      { op: 'disable', key: 'VIRT_CPU_ACCOUNTING_GEN', why: 'VIRT_CPU_ACCOUNTING_GEN selects CONTEXT_TRACKING_USER too' },
      { op: 'enable', key: 'VIRT_CPU_ACCOUNTING_NATIVE', why: 'the powerpc64 default CPU time accounting' },
    );
  }
  if (configValue(config, 'CONFIG_CONTEXT_TRACKING_USER_FORCE') === 'y') {
    edits.push({ op: 'disable', key: 'CONTEXT_TRACKING_USER_FORCE', why: 'forces CONTEXT_TRACKING_USER, which KVM-PR excludes' });
  }
  return edits;
}

/**
 * Distro configs may name certificate files that only exist in the distro's packaging tree
 * (Ubuntu: "debian/canonical-certs.pem"); the build stops on them, so they are emptied.
 */
export async function missingKeyFileEdits(config: KernelConfig, tree: string): Promise<ConfigEdit[]> {
  const edits: ConfigEdit[] = [];
  for (const key of ['SYSTEM_TRUSTED_KEYS', 'SYSTEM_REVOCATION_KEYS']) {
    const v = configValue(config, `CONFIG_${key}`);
    if (v === 'n' || v === '') continue;
    try {
      await access(isAbsolute(v) ? v : join(tree, v));
    } catch {
      edits.push({ op: 'set-str', key, value: '', why: `${v} belongs to the distro's packaging, not to this source tree` });
    }
  }
  return edits;
}

export function localVersionEdit(suffix: string): ConfigEdit {
  return { op: 'set-str', key: 'LOCALVERSION', value: suffix, why: `mark the kernel as built by talos-mac (release ends in ${suffix})` };
}

export interface ConfigChange {
  key: string;
  before: string;
  after: string;
}

/** Every option whose value differs ("n" for absent or "is not set"). */
export function configDiff(before: KernelConfig, after: KernelConfig): ConfigChange[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const out: ConfigChange[] = [];
  for (const key of [...keys].sort()) {
    const b = configValue(before, key);
    const a = configValue(after, key);
    if (a !== b) out.push({ key, before: b, after: a });
  }
  return out;
}

/**
 * Options in which the compiler and tools describe themselves (versions, capability probes:
 * Kconfig's $(cc-option …) / $(shell …) defaults, scripts/Kconfig.include): they follow whoever
 * builds and are not choices. Choices they decide (DEBUG_INFO_BTF, OBJTOOL…) are not matched.
 */
export const TOOLCHAIN_FACT =
  /^CONFIG_(CC_VERSION_TEXT|CC_IS_|CC_HAS_|CC_CAN_|CC_HAVE_|CC_NO_|CC_OPT_|CC_IMPLICIT_|GCC_VERSION|GCC\d+_NO_|GCC_ASM_|CLANG_VERSION|LD_VERSION|LD_IS_|LD_CAN_|LD_HAS_|LLD_VERSION|AS_VERSION|AS_IS_|AS_HAS_|PAHOLE_VERSION|PAHOLE_HAS_|RUSTC_|BINDGEN_|RUST_IS_AVAILABLE|TOOLCHAIN_|TOOLS_SUPPORT_)/;

export function prConfigured(config: KernelConfig): boolean {
  return configValue(config, 'CONFIG_KVM_BOOK3S_64_PR') === 'm' && isEnabled(config, 'CONFIG_KVM_BOOK3S_PR_POSSIBLE');
}

/** Why a kernel built with `config` cannot do KVM-PR, or undefined when it can. */
export function prConfigProblem(config: KernelConfig, version: readonly number[] | undefined): string | undefined {
  const pr = configValue(config, 'CONFIG_KVM_BOOK3S_64_PR');
  if (pr === 'm' || pr === 'y') return undefined;
  // Linux 6.1: KVM_BOOK3S_64_PR gained "depends on !CONTEXT_TRACKING_USER" (NO_HZ_FULL selects it).
  if (configValue(config, 'CONFIG_CONTEXT_TRACKING_USER') === 'y' && version && compareVersions(version, [6, 1, 0]) >= 0) {
    return `built without KVM-PR: since Linux 6.1 KVM_BOOK3S_64_PR depends on !CONTEXT_TRACKING_USER, and this kernel has CONTEXT_TRACKING_USER=y${configValue(config, 'CONFIG_NO_HZ_FULL') === 'y' ? ' (selected by NO_HZ_FULL=y)' : ''}`;
  }
  return 'built without KVM-PR (CONFIG_KVM_BOOK3S_64_PR is not set)';
}
