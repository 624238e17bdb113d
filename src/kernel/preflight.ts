import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Host } from '../host/host.js';
import { configValue, type KernelConfig } from '../parse/kconfig.js';

import { buildToolPackage, crossGccPackage, packagingTools, type BuildTool, type Distro } from '../distro/distro.js';

export interface Requirement {
  what: string;
  /** Command to look for on PATH, or a C header to compile against. */
  probe: { command: string } | { header: string };
  /** The package that provides it on this distribution; undefined: not known (the message says what is missing). */
  package: string | undefined;
}

const TOOLS: readonly { what: string; probe: Requirement['probe']; tool: BuildTool }[] = [
  { what: 'make', probe: { command: 'make' }, tool: 'make' },
  { what: 'host C compiler', probe: { command: 'gcc' }, tool: 'gcc' },
  { what: 'flex', probe: { command: 'flex' }, tool: 'flex' },
  { what: 'bison', probe: { command: 'bison' }, tool: 'bison' },
  { what: 'bc', probe: { command: 'bc' }, tool: 'bc' },
  { what: 'perl', probe: { command: 'perl' }, tool: 'perl' },
  { what: 'patch', probe: { command: 'patch' }, tool: 'patch' },
  { what: 'libelf headers', probe: { header: 'gelf.h' }, tool: 'libelf' },
  { what: 'OpenSSL headers', probe: { header: 'openssl/opensslv.h' }, tool: 'openssl' },
];

/** What Kbuild needs on the build machine (Documentation/process/changes.rst), named the way `distro` packages it. */
export function requirements(distro: Distro, crossCompile = ''): Requirement[] {
  const list: Requirement[] = TOOLS.map((t) => ({ what: t.what, probe: t.probe, package: buildToolPackage(distro, t.tool) }));
  if (crossCompile) list.push({ what: `cross compiler ${crossCompile}gcc`, probe: { command: `${crossCompile}gcc` }, package: crossGccPackage(distro, crossCompile) });
  return list;
}

/**
 * The tools the distribution's own build of this kernel had, as its configuration records them:
 * Kconfig asks pahole for its version (init/Kconfig: PAHOLE_VERSION, scripts/pahole-version.sh),
 * and what it decides (DEBUG_INFO_BTF, DEBUG_INFO_BTF_MODULES, lib/Kconfig.debug) is lost without it.
 */
export function configRequirements(distro: Distro, config: KernelConfig): Requirement[] {
  const list: Requirement[] = [];
  const pahole = Number(configValue(config, 'CONFIG_PAHOLE_VERSION'));
  if (pahole > 0) list.push({ what: `pahole (the distribution's build had it: CONFIG_PAHOLE_VERSION=${pahole})`, probe: { command: 'pahole' }, package: buildToolPackage(distro, 'pahole') });
  // Compressed modules: modules_install runs the compressor (scripts/Makefile.modinst), after hours of building.
  if (configValue(config, 'CONFIG_MODULE_COMPRESS_XZ') === 'y') list.push({ what: 'xz (CONFIG_MODULE_COMPRESS_XZ=y)', probe: { command: 'xz' }, package: buildToolPackage(distro, 'xz') });
  if (configValue(config, 'CONFIG_MODULE_COMPRESS_ZSTD') === 'y') list.push({ what: 'zstd (CONFIG_MODULE_COMPRESS_ZSTD=y)', probe: { command: 'zstd' }, package: buildToolPackage(distro, 'zstd') });
  return list;
}

/** What `make bindeb-pkg` / `binrpm-pkg` need besides the compiler (the row's packaging tools). */
export function packagingRequirements(distro: Distro): Requirement[] {
  return packagingTools(distro).map((t) => ({ what: t.what, probe: { command: t.command }, package: t.package }));
}

export interface Missing {
  what: string;
  package: string | undefined;
}

/** Each requirement the host lacks, with the package that provides it here. */
export async function missingRequirements(host: Host, distro: Distro, crossCompile = '', extra: readonly Requirement[] = []): Promise<Missing[]> {
  const missing: Missing[] = [];
  for (const req of [...requirements(distro, crossCompile), ...extra]) {
    let ok: boolean;
    const r =
      'command' in req.probe
        ? await host.run(['sh', '-c', 'command -v "$1"', 'sh', req.probe.command])
        : // Preprocess a one-line file: finds the header wherever the distro puts it (multiarch dirs too).
          await host.run(['sh', '-c', 'printf "#include <%s>\\n" "$1" | gcc -E -x c - >/dev/null', 'sh', req.probe.header]);
    if (r.notRecorded) throw new Error(`the snapshot has no record of the build tools (${req.what})`);
    ok = r.exitCode === 0 && ('header' in req.probe || r.stdout.trim() !== '');
    if (!ok) missing.push({ what: req.what, package: req.package });
  }
  return missing;
}

/** The packages to install for `missing`, or undefined when one of them has no known name here. */
export function missingPackages(missing: readonly Missing[]): string[] | undefined {
  return missing.every((m) => m.package !== undefined) ? missing.map((m) => m.package!) : undefined;
}

/** Free bytes on the filesystem that holds path (or its nearest existing parent). */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return s.bavail * s.bsize;
    } catch {
      if (p === dirname(p)) return undefined;
    }
  }
}

export const GiB = 1024 ** 3;

export interface SigningState {
  /** Lines to show before building: why an unsigned module may be refused. */
  warnings: string[];
  /** True when the kernel will refuse an unsigned module for certain. */
  refusesUnsigned: boolean;
}

/**
 * Secure Boot / module.sig_enforce / lockdown: an out-of-tree module built here is unsigned, and
 * such a kernel refuses it ("Key was rejected by service"). Say so before the build, not after.
 */
export async function moduleSigningState(host: Host): Promise<SigningState> {
  const warnings: string[] = [];
  let refuses = false;
  const enforce = await host.readFile('/sys/module/module/parameters/sig_enforce');
  if (enforce.ok && /^Y/.test(enforce.data.toString('utf8').trim())) {
    refuses = true;
    warnings.push('module.sig_enforce is on: the kernel loads only modules signed with a key it trusts; a module built here is unsigned and will be refused (sign it with your own enrolled key, or boot without module.sig_enforce=1).');
  }
  const lockdown = await host.readFile('/sys/kernel/security/lockdown');
  if (lockdown.ok) {
    const mode = /\[(\w+)\]/.exec(lockdown.data.toString('utf8'))?.[1];
    if (mode && mode !== 'none') {
      refuses = true;
      warnings.push(`kernel lockdown is "${mode}": unsigned modules are refused.`);
    }
  }
  // POWER9 firmware secure boot (OpenPOWER): skiboot exposes it in the device tree.
  const p9sb = await host.pathInfo('/proc/device-tree/ibm,secureboot/os-secureboot-enforcing');
  if (p9sb.exists) warnings.push('OS secure boot is enforcing (ibm,secureboot): an unsigned module or kernel may be refused.');
  const efi = await host.readDir('/sys/firmware/efi/efivars');
  if (efi.ok) {
    const name = efi.entries.find((e) => e.startsWith('SecureBoot-'));
    if (name) {
      const v = await host.readFile(`/sys/firmware/efi/efivars/${name}`);
      if (v.ok && v.data.length >= 5 && v.data[4] === 1) warnings.push('UEFI Secure Boot is on: unsigned modules are usually refused (lockdown).');
    }
  }
  return { warnings, refusesUnsigned: refuses };
}
