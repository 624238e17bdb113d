import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { configValue } from '../../../src/parse/kconfig.js';
import { configureNewKernel } from '../../../src/kernel/new-kernel.js';
import { formatDiff, TOOLCHAIN_OPTION } from '../../../src/kernel/config.js';
import { CROSS, SOURCE_TARBALL, cacheDir, fixtures, requireKernelToolchain } from './env.js';

before(() => requireKernelToolchain());

// Options that follow from the requested edits through Kconfig (select/depends), seen with 6.1:
// NO_HZ_FULL selected RCU_NOCB_CPU; VIRT_CPU_ACCOUNTING_GEN selected CONTEXT_TRACKING_USER and,
// on pseries, PARAVIRT_TIME_ACCOUNTING (which selects PARAVIRT); native accounting brings
// ARCH_HAS_SCALED_CPUTIME; KVM-PR selects KVM_BOOK3S_PR_POSSIBLE and KVM_MMIO.
const CONSEQUENCES = new Set([
  'CONFIG_KVM_BOOK3S_PR_POSSIBLE', 'CONFIG_KVM_MMIO', 'CONFIG_CONTEXT_TRACKING_USER', 'CONFIG_RCU_NOCB_CPU',
  'CONFIG_PARAVIRT', 'CONFIG_PARAVIRT_TIME_ACCOUNTING', 'CONFIG_ARCH_HAS_SCALED_CPUTIME', 'CONFIG_HAVE_SCHED_AVG_IRQ',
]);

test("new-kernel configuration from Debian's real config: KVM-PR on, nothing else changed but what it needs", { timeout: 15 * 60_000 }, async () => {
  const debian = join(fixtures, 'debian12-6.1.0-50-powerpc64le.config');
  const r = await configureNewKernel({ kernelSrc: SOURCE_TARBALL, config: debian, release: '6.1.0-50-powerpc64le', upstream: [6, 1, 176], crossCompile: CROSS, cacheDir, ui: () => {} });
  assert.equal(configValue(r.after, 'CONFIG_KVM_BOOK3S_64_PR'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_KVM_BOOK3S_PR_POSSIBLE'), 'y');
  assert.equal(configValue(r.after, 'CONFIG_CONTEXT_TRACKING_USER'), 'n');
  assert.equal(configValue(r.after, 'CONFIG_NO_HZ_IDLE'), 'y');
  assert.equal(r.newRelease, '6.1.192-talosmac');

  console.log(`edits (scripts/config):\n${r.edits.map((e) => `  ${e.op} ${e.key}${e.op === 'set-str' ? ` "${e.value}"` : ''}: ${e.why}`).join('\n')}`);
  console.log(`diff against Debian's config (${r.diff.length} options):\n${formatDiff(r.diff)}`);

  const edited = new Set(r.edits.map((e) => `CONFIG_${e.key}`));
  const unexplained = r.diff.filter((c) => {
    if (edited.has(c.key) || CONSEQUENCES.has(c.key) || TOOLCHAIN_OPTION.test(c.key)) return false;
    // Debian's 6.1.176 config does not mention it: a new option in the 6.1.192 source, or a default Debian's file leaves out.
    if (!r.before.has(c.key)) return false;
    // Gone from the 6.1.192 source (olddefconfig drops unknown symbols).
    if (!r.after.has(c.key)) return false;
    return true;
  });
  assert.deepEqual(unexplained, [], `unexpected changes:\n${formatDiff(unexplained)}`);
  // Every requested edit took effect.
  for (const e of r.edits) {
    const v = configValue(r.after, `CONFIG_${e.key}`);
    const want = e.op === 'set-str' ? e.value : { module: 'm', enable: 'y', disable: 'n' }[e.op];
    assert.equal(v, want, e.key);
  }
});
