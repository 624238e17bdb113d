import type { MmuMode } from './cpuinfo.js';

/**
 * The MMU the kernel said it initialised. Radix boots print plenty of "hash table" lines, so
 * only the MMU initialisation messages count ("hash-mmu: Initializing hash mmu with SLB", older kernels
 * without the prefix; "radix-mmu: Initializing Radix MMU" on bare metal, both in
 * tests/fixtures/snapshots/debian12-6.1.0-50-{hash,radix}/commands/dmesg.txt;
 * a pSeries guest prints "lpar: Using radix MMU under hypervisor" instead, from
 * radix_init_pseries() in arch/powerpc/platforms/pseries/lpar.c).
 */
export function mmuFromDmesg(text: string): MmuMode | undefined {
  if (/Initializing Radix MMU|Using radix MMU under hypervisor/i.test(text)) return 'radix';
  if (/Initializing hash mmu/i.test(text)) return 'hash';
  return undefined;
}
