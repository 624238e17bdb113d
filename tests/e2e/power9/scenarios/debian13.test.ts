// Scenario 2 (and 6): Debian 13's stock kernel (6.12, modules compressed), radix and hash.
import { test } from 'node:test';
import { KERNELS } from '../kernels.js';
import { assertStockVerdicts } from './stock-asserts.js';
import { bootStock } from '../lib/stock-scenario.js';

for (const mmu of ['radix', 'hash'] as const) {
  test(`Debian 13 stock kernel, ${mmu}: doctor, setup --dry-run, kvm-hv.ko.xz, the snapshot it collects`, async () => {
    const boot = await bootStock(KERNELS.debian13, mmu);
    await assertStockVerdicts(boot, { mmu, series: '6.12', fixture: `box-debian13-6.12-${mmu}` });
  });
}
