// Why each option of a new kernel's configuration differs from the running kernel's. The
// configuration is made in two olddefconfig runs on the same tree: first the running config with
// talos-mac's own settings (signing, release name) alone — what differs there comes from the
// build machine and the source — then that result with the KVM-PR edits — what differs there
// comes from those edits, directly or through Kconfig (select / depends on).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelConfig } from '../parse/kconfig.js';
import { configDiff, TOOLCHAIN_FACT, type ConfigChange, type ConfigEdit } from './config.js';

export interface GroupedDiff {
  /** Options the KVM-PR edits set (prEdits). */
  kvmPr: ConfigChange[];
  /** Options that changed only because of those edits (the second olddefconfig run). */
  forced: ConfigChange[];
  /** talos-mac's own settings: module signing, the release name (their edits' keys). */
  ours: ConfigChange[];
  /** New in this source (the running config predates it) or not defined in it any more. */
  source: ConfigChange[];
  /** What the compiler and tools say about themselves (versions, capability probes): not choices. */
  toolchain: ConfigChange[];
  /** Choices that differ because of the build machine (e.g. DEBUG_INFO_BTF without pahole). */
  buildMachine: ConfigChange[];
  /** With a reduction: what localmodconfig turned off (reported on its own, src/kernel/reduce.ts). */
  reduced: ConfigChange[];
}

/** "# Linux/powerpc 6.1.176 Kernel Configuration" -> "6.1.176". */
export function configHeaderVersion(text: string): string | undefined {
  return /^# Linux\/\S+ (\S+) Kernel Configuration$/m.exec(text)?.[1];
}

/** Every symbol the tree's Kconfig files define (config / menuconfig lines), as CONFIG_ names. */
export async function kconfigSymbols(tree: string): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) await walk(join(dir, e.name));
      } else if (e.name.startsWith('Kconfig')) {
        for (const m of (await readFile(join(dir, e.name), 'utf8')).matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) out.add(`CONFIG_${m[1]}`);
      }
    }
  };
  await walk(tree);
  return out;
}

export interface GroupInputs {
  /** The running kernel's configuration, as read. */
  original: KernelConfig;
  /** After olddefconfig with talos-mac's own edits only, on this machine. */
  base: KernelConfig;
  /** With a reduction: base after localmodconfig; otherwise base. */
  reducedBase?: KernelConfig;
  /** After olddefconfig with the KVM-PR edits on top. */
  final: KernelConfig;
  prEdits: readonly ConfigEdit[];
  ownEdits: readonly ConfigEdit[];
  /** True when the running config was made for another version than this source (its header). */
  otherVersion: boolean;
  /** Symbols this source defines (kconfigSymbols). */
  defined: ReadonlySet<string>;
}

const keyOf = (e: ConfigEdit) => `CONFIG_${e.key}`;

export function groupDiff(i: GroupInputs): GroupedDiff {
  const pre = i.reducedBase ?? i.base;
  const prKeys = new Set(i.prEdits.map(keyOf));
  const ownKeys = new Set(i.ownEdits.map(keyOf));
  const pr = configDiff(pre, i.final);
  const g: GroupedDiff = { kvmPr: [], forced: [], ours: [], source: [], toolchain: [], buildMachine: [], reduced: i.reducedBase ? configDiff(i.base, i.reducedBase) : [] };
  for (const c of pr) (prKeys.has(c.key) ? g.kvmPr : g.forced).push(c);
  for (const c of configDiff(i.original, i.base)) {
    if (ownKeys.has(c.key)) g.ours.push(c);
    else if (TOOLCHAIN_FACT.test(c.key)) g.toolchain.push(c);
    else if (!i.defined.has(c.key) || (i.otherVersion && !i.original.has(c.key))) g.source.push(c);
    else g.buildMachine.push(c);
  }
  return g;
}

const line = (c: ConfigChange) => `  ${c.key.replace(/^CONFIG_/, '')}: ${c.before} -> ${c.after}`;

export interface BuildMachineState {
  /** Tools the distribution's build had (from its config) that this machine lacks, with their package. */
  missing: { what: string; package: string | undefined }[];
  /** The differences were accepted (--accept-build-machine-differences). */
  accepted: boolean;
}

/** The grouped diff as configure-kernel and build-kernel print it. */
export function formatGroups(g: GroupedDiff, state: BuildMachineState): string[] {
  const block = (title: string, list: ConfigChange[], empty = 'none') => [`${title} (${list.length}):`, ...(list.length ? list.map(line) : [`  ${empty}`])];
  const out = [
    ...block('For KVM-PR', g.kvmPr),
    ...block('Forced by those (Kconfig select / depends on)', g.forced),
  ];
  const fix = state.missing.length
    ? `not fixed: missing ${state.missing.map((m) => `${m.what}${m.package ? ` (package ${m.package})` : ''}`).join(', ')}`
    : g.buildMachine.length
      ? state.accepted
        ? 'not fixed: accepted (--accept-build-machine-differences)'
        : 'not fixed: no package here provides what the distribution built with'
      : 'fixed: the tools the distribution built with are present';
  out.push(...block(`From the build machine, ${fix}`, g.buildMachine));
  if (g.toolchain.length) out.push(...block('The toolchain describing itself (versions and capability probes, not choices)', g.toolchain));
  if (g.ours.length) out.push(...block("talos-mac's own settings (module signing, release name)", g.ours));
  if (g.source.length) out.push(...block('From the source (options new in it, or gone from it)', g.source));
  if (g.reduced.length) out.push(`Turned off by the reduction: ${g.reduced.length} options (listed in dropped-options.txt)`);
  return out;
}
