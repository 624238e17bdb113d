import type { MmuMode } from './cpuinfo.js';

/**
 * The MMU the kernel said it initialised. Radix boots print plenty of "hash table" lines, so
 * only the MMU initialisation messages count (KNOWLEDGE §1: "hash-mmu: Initializing hash mmu
 * with SLB", older kernels without the prefix; "radix-mmu: Initializing Radix MMU").
 */
export function mmuFromDmesg(text: string): MmuMode | undefined {
  if (/Initializing Radix MMU/i.test(text)) return 'radix';
  if (/Initializing hash mmu/i.test(text)) return 'hash';
  return undefined;
}
