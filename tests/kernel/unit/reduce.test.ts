import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseKernelConfig } from '../../../src/parse/kconfig.js';
import { ALWAYS_KEPT_MODULES, droppedList, droppedOptions, parseModuleList, writeLsmod } from '../../../src/kernel/reduce.js';

test('module lists: /proc/modules and lsmod output give the same names, kmod spelling', () => {
  const proc = 'kvm_pr 393216 0 - Live 0x0000000000000000\nkvm 524288 1 kvm_pr, Live 0x0000000000000000\n';
  const lsmod = 'Module                  Size  Used by\nkvm_pr                393216  0\nkvm                   524288  1 kvm_pr\n';
  assert.deepEqual(parseModuleList(proc), ['kvm', 'kvm_pr']);
  assert.deepEqual(parseModuleList(lsmod), ['kvm', 'kvm_pr']);
  assert.deepEqual(parseModuleList(''), []);
});

test('the LSMOD file always holds the KVM modules, once each', async () => {
  const f = join(await mkdtemp(join(tmpdir(), 'reduce-')), 'lsmod');
  const all = await writeLsmod(f, { from: 'x', modules: ['kvm', 'xfs'] });
  assert.deepEqual(all, [...new Set(['kvm', 'xfs', ...ALWAYS_KEPT_MODULES])].sort());
  assert.deepEqual(parseModuleList(await readFile(f, 'utf8')), all);
});

test('dropped options: modules and built-ins turned off, counted', () => {
  const before = parseKernelConfig('CONFIG_A=m\nCONFIG_B=m\nCONFIG_C=y\nCONFIG_D=y\n# CONFIG_E is not set\n')!;
  const after = parseKernelConfig('CONFIG_A=m\n# CONFIG_B is not set\nCONFIG_D=y\n')!;
  const d = droppedOptions(before, after);
  assert.deepEqual([d.modules, d.builtins, d.modulesBefore, d.modulesAfter], [['CONFIG_B'], ['CONFIG_C'], 2, 1]);
  assert.equal(droppedList(d), '  CONFIG_B: m -> n\n  CONFIG_C: y -> n');
});
