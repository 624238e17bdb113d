// A configuration reduced to what one host uses, made by the kernel's own `make localmodconfig`
// (scripts/kconfig/streamline_config.pl: it maps each loaded module to the CONFIG_ symbols of its
// obj-$(CONFIG_…) lines in the Makefiles and turns every other module off). Built-in options stay,
// so whatever booted the distro kernel still boots this one.
import { writeFile } from 'node:fs/promises';
import type { Host } from '../host/host.js';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { configValue, type KernelConfig } from '../parse/kconfig.js';
import type { ConfigEdit } from './config.js';

/** Kept whatever the host has loaded: KVM-PR (kvm.ko + kvm-pr.ko) and KVM-HV beside it. */
export const ALWAYS_KEPT_MODULES = ['kvm', 'kvm_hv', 'kvm_pr'] as const;

export interface Reduction {
  /** Where the module list came from (e.g. "/proc/modules", a file path), for the messages. */
  from: string;
  /** Loaded module names (kmod's spelling, "kvm_hv"). */
  modules: string[];
}

/** Module names from /proc/modules or `lsmod` output (its "Module Size Used by" header skipped). */
export function parseModuleList(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_-]+)\s/.exec(line + ' ');
    if (m && m[1] !== 'Module') names.add(m[1]!.replace(/-/g, '_'));
  }
  return [...names].sort();
}

/** The module list in `file` (/proc/modules for --reduce-to-host), read through the host. */
export async function readReduction(file: string, host: Host): Promise<Reduction> {
  const r = await host.readFile(file);
  if (!r.ok) throw new UserError(`cannot read the module list ${file}: ${r.message}`);
  return { from: file, modules: parseModuleList(r.data.toString('utf8')) };
}

/** The LSMOD file handed to localmodconfig: the host's modules plus the ones always kept. */
export async function writeLsmod(file: string, r: Reduction): Promise<string[]> {
  const all = [...new Set([...r.modules, ...ALWAYS_KEPT_MODULES])].sort();
  await writeFile(file, all.map((m) => `${m} 0 0 - Live 0x0000000000000000\n`).join(''));
  return all;
}

/**
 * Edits on top of localmodconfig. kvm.ko (KVM_BOOK3S_64) is what KVM-PR depends on: a distro
 * config that builds it in or leaves it out still gets it as a module. Debug info is not needed
 * to boot and is most of the build's time and disk.
 */
export function reductionEdits(): ConfigEdit[] {
  return [
    { op: 'module', key: 'KVM_BOOK3S_64', why: 'KVM-PR depends on it (kvm.ko)' },
    { op: 'enable', key: 'DEBUG_INFO_NONE', why: 'debug info is not needed to boot; it is most of the build time and disk' },
    { op: 'disable', key: 'DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT', why: 'debug info off' },
    { op: 'disable', key: 'DEBUG_INFO_DWARF4', why: 'debug info off' },
    { op: 'disable', key: 'DEBUG_INFO_DWARF5', why: 'debug info off' },
  ];
}

export interface Dropped {
  /** Options that were modules (=m) and are now off. */
  modules: string[];
  /** Built-in options (=y) now off: sub-options of dropped modules, and debug info. */
  builtins: string[];
  modulesBefore: number;
  modulesAfter: number;
}

const count = (c: KernelConfig, v: string) => [...c.values()].filter((x) => x === v).length;

export function droppedOptions(before: KernelConfig, after: KernelConfig): Dropped {
  const modules: string[] = [];
  const builtins: string[] = [];
  for (const [key, v] of before) {
    if (configValue(after, key) !== 'n') continue;
    if (v === 'm') modules.push(key);
    else if (v === 'y') builtins.push(key);
  }
  return { modules: modules.sort(), builtins: builtins.sort(), modulesBefore: count(before, 'm'), modulesAfter: count(after, 'm') };
}

export function droppedSummary(d: Dropped, r: Reduction): string {
  return `reduced to ${r.from} (${r.modules.length} loaded module${r.modules.length === 1 ? '' : 's'}, plus ${ALWAYS_KEPT_MODULES.join(', ')}): ` +
    `${d.modulesBefore} modules -> ${d.modulesAfter}; dropped ${d.modules.length} module options and ${d.builtins.length} built-in options`;
}

export function droppedList(d: Dropped): string {
  return [...d.modules.map((k) => `  ${k}: m -> n`), ...d.builtins.map((k) => `  ${k}: y -> n`)].join('\n');
}

export const dropListFile = (buildDir: string): string => join(buildDir, 'dropped-options.txt');
