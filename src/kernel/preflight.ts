import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Host } from '../host/host.js';
import { APT, DNF, PACMAN, ZYPPER, type PackageManager } from '../distro/package-manager.js';

export { distroFamily, type DistroFamily } from '../parse/os-release.js';
import type { DistroFamily } from '../parse/os-release.js';

export interface Requirement {
  what: string;
  /** Command to look for on PATH, or a C header to compile against. */
  probe: { command: string } | { header: string };
  packages: Record<DistroFamily, string>;
}

const pkg = (debian: string, fedora: string, suse: string, arch: string): Record<DistroFamily, string> => ({ debian, fedora, suse, arch, other: debian });

/** What Kbuild needs on the build machine (Documentation/process/changes.rst). */
export function requirements(crossCompile = ''): Requirement[] {
  const list: Requirement[] = [
    { what: 'make', probe: { command: 'make' }, packages: pkg('make', 'make', 'make', 'make') },
    { what: 'host C compiler', probe: { command: 'gcc' }, packages: pkg('gcc', 'gcc', 'gcc', 'gcc') },
    { what: 'flex', probe: { command: 'flex' }, packages: pkg('flex', 'flex', 'flex', 'flex') },
    { what: 'bison', probe: { command: 'bison' }, packages: pkg('bison', 'bison', 'bison', 'bison') },
    { what: 'bc', probe: { command: 'bc' }, packages: pkg('bc', 'bc', 'bc', 'bc') },
    { what: 'perl', probe: { command: 'perl' }, packages: pkg('perl', 'perl', 'perl', 'perl') },
    { what: 'patch', probe: { command: 'patch' }, packages: pkg('patch', 'patch', 'patch', 'patch') },
    { what: 'libelf headers', probe: { header: 'gelf.h' }, packages: pkg('libelf-dev', 'elfutils-libelf-devel', 'libelf-devel', 'libelf') },
    { what: 'OpenSSL headers', probe: { header: 'openssl/opensslv.h' }, packages: pkg('libssl-dev', 'openssl-devel', 'libopenssl-devel', 'openssl') },
  ];
  if (crossCompile) {
    const triplet = crossCompile.replace(/-$/, '');
    list.push({
      what: `cross compiler ${crossCompile}gcc`,
      probe: { command: `${crossCompile}gcc` },
      packages: pkg(`gcc-${triplet}`, `gcc-${triplet.split('-')[0]}-linux-gnu`, `cross-${triplet.split('-')[0]}-gcc`, `${triplet}-gcc`),
    });
  }
  return list;
}

/** What `make bindeb-pkg` / `binrpm-pkg` need besides the compiler (6.1 scripts/package/mkdebian Build-Depends). */
export function packagingRequirements(family: DistroFamily): Requirement[] {
  const cmd = (what: string, command: string, name: string): Requirement => ({ what, probe: { command }, packages: pkg(name, name, name, name) });
  if (family === 'debian') {
    return [cmd('dpkg-buildpackage', 'dpkg-buildpackage', 'dpkg-dev'), cmd('fakeroot', 'fakeroot', 'fakeroot'), cmd('rsync', 'rsync', 'rsync'), cmd('cpio', 'cpio', 'cpio'), cmd('depmod', 'depmod', 'kmod')];
  }
  if (family === 'fedora') return [cmd('rpmbuild', 'rpmbuild', 'rpm-build')];
  return [];
}

export interface Missing {
  what: string;
  package: string;
}

/** Each requirement the host lacks, with the package that provides it here. */
export async function missingRequirements(host: Host, family: DistroFamily, crossCompile = '', extra: readonly Requirement[] = []): Promise<Missing[]> {
  const missing: Missing[] = [];
  for (const req of [...requirements(crossCompile), ...extra]) {
    let ok: boolean;
    const r =
      'command' in req.probe
        ? await host.run(['sh', '-c', 'command -v "$1"', 'sh', req.probe.command])
        : // Preprocess a one-line file: finds the header wherever the distro puts it (multiarch dirs too).
          await host.run(['sh', '-c', 'printf "#include <%s>\\n" "$1" | gcc -E -x c - >/dev/null', 'sh', req.probe.header]);
    if (r.notRecorded) throw new Error(`the snapshot has no record of the build tools (${req.what})`);
    ok = r.exitCode === 0 && ('header' in req.probe || r.stdout.trim() !== '');
    if (!ok) missing.push({ what: req.what, package: req.packages[family] });
  }
  return missing;
}

/** The package manager each family installs (and, through the runner's record, removes) with. */
export function packageManager(family: DistroFamily): PackageManager | undefined {
  return { debian: APT, fedora: DNF, suse: ZYPPER, arch: PACMAN, other: undefined }[family];
}

export function installCommand(family: DistroFamily, packages: readonly string[]): string[] {
  return packageManager(family)?.install(packages) ?? [];
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
