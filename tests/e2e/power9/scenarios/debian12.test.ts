// Scenario 1 (and 6): Debian 12's stock kernel, radix, Debian's GRUB files in the root.
import { test } from 'node:test';
import { KERNELS } from '../kernels.js';
import { assertStockVerdicts } from './stock-asserts.js';
import { bootStock } from '../lib/stock-scenario.js';

test('Debian 12 stock kernel, radix: doctor, setup --dry-run, the snapshot it collects', async () => {
  const boot = await bootStock(KERNELS.debian12, 'radix');
  await assertStockVerdicts(boot, { mmu: 'radix', series: '6.1', fixture: 'box-debian12-6.1-radix' });
});
