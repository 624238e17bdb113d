/** /proc/cpuinfo as talos-mac needs it. Tolerant of tabs and spaces around the colon. */
export interface CpuInfo {
  processors: number;
  cpu?: string;
  revision?: string;
  pvr?: string;
  platform?: string;
  model?: string;
  machine?: string;
  firmware?: string;
  mmu?: string;
}

export type CpuGeneration = 'POWER10' | 'POWER9' | 'POWER8' | 'other-power' | 'not-power' | 'unknown';

export function parseCpuInfo(text: string): CpuInfo {
  const info: CpuInfo = { processors: 0 };
  for (const line of text.split('\n')) {
    const m = /^([^:]+?)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.trim().toLowerCase();
    const value = m[2]!;
    if (key === 'processor') info.processors++;
    else if (key === 'cpu' && info.cpu === undefined) info.cpu = value;
    else if (key === 'revision' && info.revision === undefined) {
      info.revision = value;
      const pvr = /pvr\s+([0-9a-f]{4}\s+[0-9a-f]{4})/i.exec(value);
      if (pvr) info.pvr = pvr[1];
    } else if (key === 'platform') info.platform = value;
    else if (key === 'model') info.model = value;
    else if (key === 'machine') info.machine = value;
    else if (key === 'firmware') info.firmware = value;
    else if (key === 'mmu') info.mmu = value;
  }
  return info;
}

export function cpuGeneration(info: CpuInfo): CpuGeneration {
  const cpu = info.cpu;
  if (cpu === undefined) return info.processors > 0 ? 'not-power' : 'unknown';
  if (/^POWER10\b/i.test(cpu)) return 'POWER10';
  if (/^POWER9\b/i.test(cpu)) return 'POWER9';
  if (/^POWER8/i.test(cpu)) return 'POWER8';
  if (/^(POWER|PPC|ppc)/.test(cpu)) return 'other-power';
  return 'not-power';
}

export type MmuMode = 'radix' | 'hash';

export function mmuFromCpuInfo(info: CpuInfo): MmuMode | undefined {
  if (info.mmu === undefined) return undefined;
  if (/^radix$/i.test(info.mmu)) return 'radix';
  if (/^hash$/i.test(info.mmu)) return 'hash';
  return undefined;
}

/** A pSeries guest (PowerVM LPAR or QEMU/KVM): `platform : pSeries`, `machine : CHRP …` (pSeries_show_cpuinfo(), arch/powerpc/platforms/pseries/setup.c). */
export function isPseries(info: CpuInfo): boolean {
  return info.platform === 'pSeries' || /^CHRP\b/.test(info.machine ?? '');
}

/** Radix translation is ISA 3.0 (POWER9 and later): older CPUs have only the hash MMU. */
export function cpuHasRadix(info: CpuInfo): boolean | undefined {
  const gen = cpuGeneration(info);
  if (gen === 'POWER9' || gen === 'POWER10') return true;
  if (gen === 'POWER8' || gen === 'other-power') return false;
  return undefined;
}

/**
 * Raptor board names in `machine : PowerNV <model>` (pnv_show_cpuinfo(), arch/powerpc/platforms/powernv/setup.c, prints the
 * device tree's root model); which model is which board is [inferred] from public reports, not captured here.
 */
const BOARDS: ReadonlyArray<[RegExp, string]> = [
  [/T2P9D01/, 'Raptor Talos II'],
  [/C1P9S01/, 'Raptor Blackbird'],
];

/** The machine in words; a guest is named as one, never as PowerNV. */
export function boardName(info: CpuInfo): string | undefined {
  const text = `${info.machine ?? ''} ${info.model ?? ''}`;
  const qemu = /emulated by qemu/i.test(text);
  if (isPseries(info)) return qemu ? 'QEMU/KVM pSeries guest' : info.model ? `pSeries LPAR (${info.model})` : undefined;
  for (const [re, name] of BOARDS) if (re.test(text)) return name;
  return qemu && info.platform === 'PowerNV' ? 'QEMU-emulated PowerNV' : undefined;
}
