// Issue 15: the new kernel's configuration differs from the running one's only by the KVM-PR
// edits and what Kconfig forces from them; everything else is the build machine's, said as such.
// Real Debian 12 (6.1) and Debian 13 (6.12) configs with their own linux-source, cross, here.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { buildKernelImage, configureNewKernel, configuredReport, assertBuildMachine, type ConfiguredKernel } from '../../../src/kernel/new-kernel.js';
import type { ConfigChange } from '../../../src/kernel/config.js';
import { UserError } from '../../../src/errors.js';
import { CROSS, cacheDir, debianPair, pathWithout, requireKernelToolchain } from './env.js';
import { LiveHost } from '../../../src/host/live-host.js';

const show = (l: ConfigChange[]) => l.map((c) => `${c.key.replace(/^CONFIG_/, '')}=${c.after}`).sort();

async function configure(suite: 'bookworm' | 'trixie', env: NodeJS.ProcessEnv = process.env): Promise<ConfiguredKernel> {
  requireKernelToolchain();
  const p = await debianPair(suite);
  const r = await configureNewKernel({ kernelSrc: p.tarball, config: p.config, release: p.release, crossCompile: CROSS, cacheDir, env, host: new LiveHost(env), ui: () => {} });
  console.log(`${suite} ${p.version}:\n${configuredReport(r).join('\n')}`);
  return r;
}

// Seen on the real sources (second olddefconfig run against the first): the KVM-PR edits
// (src/kernel/config.ts prEdits), then what Kconfig changes from them. Without NO_HZ_FULL,
// RCU_NOCB_CPU (and in 6.12 RCU_LAZY, which depends on it) go; native accounting replaces
// VIRT_CPU_ACCOUNTING_GEN, so CONTEXT_TRACKING_USER, PARAVIRT_TIME_ACCOUNTING (and PARAVIRT,
// which it selects) and HAVE_SCHED_AVG_IRQ go and ARCH_HAS_SCALED_CPUTIME comes; KVM-PR brings
// KVM_BOOK3S_PR_POSSIBLE and KVM_MMIO.
const KVM_PR = ['KVM_BOOK3S_64_PR=m', 'NO_HZ_FULL=n', 'NO_HZ_IDLE=y', 'VIRT_CPU_ACCOUNTING_GEN=n', 'VIRT_CPU_ACCOUNTING_NATIVE=y'];
const FORCED = ['ARCH_HAS_SCALED_CPUTIME=y', 'CONTEXT_TRACKING_USER=n', 'HAVE_SCHED_AVG_IRQ=n', 'KVM_BOOK3S_PR_POSSIBLE=y', 'KVM_MMIO=y', 'PARAVIRT=n', 'PARAVIRT_TIME_ACCOUNTING=n', 'RCU_NOCB_CPU=n'];
const FORCED_6_1 = { edits: KVM_PR, forced: FORCED };
const FORCED_6_12 = {
  edits: KVM_PR,
  forced: [...FORCED, 'RCU_LAZY=n'].sort(),
  // GCC 12 (Debian 12's cross compiler) instead of Debian 13's GCC 14: ftrace by objtool, not
  // -fpatchable-function-entry (arch/powerpc/Kconfig: ARCH_USING_PATCHABLE_FUNCTION_ENTRY tests the compiler).
  buildMachine: ['ARCH_USING_PATCHABLE_FUNCTION_ENTRY=n', 'FTRACE_MCOUNT_USE_OBJTOOL=y', 'FTRACE_MCOUNT_USE_PATCHABLE_FUNCTION_ENTRY=n', 'OBJTOOL=y'],
};

test('Debian 12 (6.1.0, linux-source-6.1): KVM-PR, what it forces, and nothing from the build machine', { timeout: 20 * 60_000 }, async () => {
  const r = await configure('bookworm');
  assert.deepEqual(show(r.groups.kvmPr), FORCED_6_1.edits);
  assert.deepEqual(show(r.groups.forced), FORCED_6_1.forced);
  assert.deepEqual(r.missingTools, [], 'pahole is installed (.ci/run: dwarves)');
  assert.deepEqual(show(r.groups.buildMachine), [], 'no choice differs because of the build machine');
  assert.deepEqual(show(r.groups.source), [], 'config and source are the same version');
  assertBuildMachine(r, false);
  // Signing decided: a key made for this build, Debian's certificates not trusted.
  assert.equal(r.signing.sign, true);
  assert.ok(r.groups.ours.some((c) => c.key === 'CONFIG_MODULE_SIG_KEY' && c.after === 'certs/signing_key.pem'));
});

test('Debian 13 (6.12, linux-source-6.12) from Debian 12: the same KVM-PR set; GCC 12 instead of 14 is said and stops the build', { timeout: 30 * 60_000 }, async () => {
  const r = await configure('trixie');
  assert.deepEqual(show(r.groups.kvmPr), FORCED_6_12.edits);
  assert.deepEqual(show(r.groups.forced), FORCED_6_12.forced);
  assert.deepEqual(r.missingTools, []);
  assert.deepEqual(show(r.groups.buildMachine), FORCED_6_12.buildMachine);
  assert.ok(show(r.groups.toolchain).includes('GCC_VERSION=120200'));
  assert.throws(() => assertBuildMachine(r, false), (e: Error) => e instanceof UserError && /GCC_VERSION: 140200 \(distribution\) -> 120200 \(here\)/.test(e.message) && /--accept-build-machine-differences/.test(e.message));
  assertBuildMachine(r, true);
});

test('pahole missing: the lost BTF options are the build machine\'s, pahole is named with its package, and the build does not start', { timeout: 30 * 60_000 }, async () => {
  const farm = await pathWithout(['pahole']);
  try {
    const env = { ...process.env, PATH: farm };
    const r = await configure('trixie', env);
    assert.deepEqual(show(r.groups.kvmPr), FORCED_6_12.edits, 'the KVM-PR set does not depend on the build machine');
    assert.deepEqual(r.missingTools.map((m) => m.package), ['dwarves']);
    for (const k of ['DEBUG_INFO_BTF=n', 'DEBUG_INFO_BTF_MODULES=n']) assert.ok(show(r.groups.buildMachine).includes(k), k);
    assert.ok(show(r.groups.toolchain).includes('PAHOLE_VERSION=0'));
    const p = await debianPair('trixie');
    const stages: string[] = [];
    await assert.rejects(
      buildKernelImage({ kernelSrc: p.tarball, config: p.config, release: p.release, crossCompile: CROSS, cacheDir, env, host: new LiveHost(env), ui: (e) => stages.push(e.stage.id) }),
      (e: Error) => e instanceof UserError && /pahole/.test(e.message) && /dwarves/.test(e.message),
    );
    assert.deepEqual(stages, [], 'refused before any stage');
  } finally {
    await rm(farm, { recursive: true, force: true });
  }
});
