/**
 * The distributions talos-mac knows, as data: one row each. Adding a distribution is adding a
 * row here (docs/distributions.md); every package hint, install command and boot-loader choice
 * is read from the row of the running system (src/distro/distro.ts: distroOf).
 *
 * A name that is not known for a distribution is left out: the checks then say what is missing
 * instead of guessing a package. Templates fill in {release} (uname -r), {major}.{minor}.{patch}
 * (its version), {triplet} (CROSS_COMPILE without the dash) and {cpu} (the triplet's first part).
 */
import { APK, APT, DNF, ZYPPER, type PackageManager } from './package-manager.js';
import type { KernelLayout } from './kernel-files.js';

/**
 * What Kbuild needs on the build machine (Documentation/process/changes.rst). pahole: only when
 * the distribution's own build had it (its config's CONFIG_PAHOLE_VERSION; src/kernel/preflight.ts).
 */
export type BuildTool = 'make' | 'gcc' | 'flex' | 'bison' | 'bc' | 'perl' | 'patch' | 'libelf' | 'openssl' | 'pahole' | 'xz' | 'zstd';

/** The QEMU pieces the checks look for (src/steps/checks/qemu.ts). */
export type QemuPiece = 'qemu-system-ppc' | 'qemu-img' | 'openbios' | 'vga-rom' | 'nic-rom' | 'window';

/** Programs only talos-mac's own tests run: `npm test` installs their packages first (scripts/test-prereqs.mjs). */
export type TestTool = 'unshare' | 'setpriv' | 'script' | 'chattr' | 'strace' | 'ip' | 'git';

/** Programs that regenerate grub.cfg from /etc/default/grub (boot-method.ts knows their arguments). */
export type GrubRegenerator = 'update-grub' | 'grub-mkconfig' | 'grub2-mkconfig';

/**
 * What only some distributions offer, used only where a row names it:
 * - dpkg: its package database says which package owns a file and at what version, and versions
 *   compare in Debian's order (kernel provenance, and kernel.distro-newer's comparison);
 * - apt-cache: `apt-cache show` gives a package's download size (setup's plan);
 * - kernel-postinst.d: every kernel package runs /etc/kernel/postinst.d/ after it installs (the kernel hook).
 */
export type DistroFeature = 'dpkg' | 'apt-cache' | 'kernel-postinst.d';

export interface PackagingTool {
  readonly what: string;
  readonly command: string;
  readonly package: string;
}

export interface Distro {
  readonly id: string;
  readonly name: string;
  /** captured: seen on a captured machine (tests/fixtures/README.md); published: from its packages and docs. */
  readonly evidence: 'captured' | 'published';
  /** Where the facts of this row come from, in one line. */
  readonly source: string;
  /**
   * Recognised when /etc/os-release's ID, or else a word of ID_LIKE, is one of `ids` (os-release(5)),
   * and VERSION_ID is one of `versionIds` when given. Rows sharing an ID: the one whose versionIds
   * hold VERSION_ID, else the last of them (the newest release stands in for unknown ones).
   */
  readonly osRelease: { readonly ids: readonly string[]; readonly versionIds?: readonly string[] };
  /** undefined only for the fallback row: no install command is shown or run. */
  readonly packages: PackageManager | undefined;
  readonly names: {
    readonly build: Readonly<Partial<Record<BuildTool, string>>>;
    /** Template with {triplet} / {cpu}. */
    readonly crossGcc?: string;
    /** What `make bindeb-pkg` / `binrpm-pkg` need besides the compiler. */
    readonly packaging: readonly PackagingTool[];
    /** The package with Module.symvers for a release: template with {release}. */
    readonly headers?: string;
    readonly qemu: Readonly<Partial<Record<QemuPiece, string>>>;
    /** The package with 7-Zip (7zz), which reads HFS+ volumes for `files` and `media check`. */
    readonly sevenZip?: string;
    /** The package with xorriso, which builds the HFS+ images of `demo` and `share`. */
    readonly xorriso?: string;
    /** The package with flock(1), setpriv(1) and taskset(1), which launch and the live share run QEMU and its servers under. */
    readonly utilLinux?: string;
    /** The packages of the programs only the tests run. */
    readonly test?: Readonly<Partial<Record<TestTool, string>>>;
    /** The servers of `share --live` (src/launch/live-share.ts): WebDAV (rclone) and AFP (netatalk 4); absent: the distribution has none. */
    readonly liveShare?: { readonly webdav?: string; readonly afp?: string };
  };
  /** How kernel arguments are set: BootLoaderSpec entries and grubby, or /etc/default/grub and a regenerator. */
  readonly kernelArgs: {
    /** What a fresh install of this distribution uses (the doctor's hint); undefined: not known. */
    readonly usual?: 'bls' | 'grub-default';
    /** Candidates in the order tried, when /etc/default/grub is what the system has. */
    readonly regenerate: readonly GrubRegenerator[];
  };
  /** Where the source of its kernel comes from: a package that leaves a tarball, or none (kernel.org / --kernel-src). */
  readonly kernelSource: { readonly package: string; readonly tarballs: readonly string[] } | 'kernel.org only';
  /** How a built kernel is packaged (make target) and the argv that installs the built files. */
  /** How Kbuild packages a kernel here; the packages are installed (and removed) with the row's package manager. */
  readonly kernelPackaging: { readonly target: 'bindeb-pkg' | 'binrpm-pkg' | 'none' };
  /** Where its kernel packages put a kernel's config and image (src/distro/kernel-files.ts); undefined: /boot. */
  readonly kernelLayout?: KernelLayout;
  /** KVM-PR in its stock kernel, as its `source` shows (the kernel config's CONFIG_KVM_BOOK3S_64_PR). */
  readonly kvmPr: string;
  /** What only some distributions offer (none when absent). */
  readonly features?: readonly DistroFeature[];
}

const GRUB_ANY: readonly GrubRegenerator[] = ['update-grub', 'grub-mkconfig', 'grub2-mkconfig'];

/**
 * Debian-family names, seen on Debian 12 (build tools: the kernel suite's own install line).
 * pahole: Debian's linux source package Build-Depends "pahole | dwarves:native (>= 1.16~)"
 * (apt-cache showsrc linux, 6.1.192-3 and 6.12.118-1). dwarves: the name every Debian-family release has
 * (on Debian 12 it depends on the pahole package, which holds /usr/bin/pahole; older ones hold it themselves).
 */
const DEB_BUILD = { make: 'make', gcc: 'gcc', flex: 'flex', bison: 'bison', bc: 'bc', perl: 'perl', patch: 'patch', libelf: 'libelf-dev', openssl: 'libssl-dev', pahole: 'dwarves', xz: 'xz-utils', zstd: 'zstd' } as const;
/** scripts/package/mkdebian's Build-Depends (Linux 6.1) plus what bindeb-pkg runs; debhelper: 7.2's
 *  scripts/package/debian/rules runs dh_listpackages, dh_testdir, dh_gencontrol… (Build-Depends debhelper-compat). */
const DEB_PACKAGING: readonly PackagingTool[] = [
  { what: 'dpkg-buildpackage', command: 'dpkg-buildpackage', package: 'dpkg-dev' },
  { what: 'fakeroot', command: 'fakeroot', package: 'fakeroot' },
  { what: 'rsync', command: 'rsync', package: 'rsync' },
  { what: 'cpio', command: 'cpio', package: 'cpio' },
  { what: 'depmod', command: 'depmod', package: 'kmod' },
  { what: 'debhelper', command: 'dh_listpackages', package: 'debhelper' },
];
/** Debian 12's QEMU split: seabios, ipxe-qemu and qemu-system-gui are only Recommends of qemu-system-ppc. */
const DEB_QEMU = { 'qemu-system-ppc': 'qemu-system-ppc', 'qemu-img': 'qemu-utils', openbios: 'qemu-system-data', 'vga-rom': 'seabios', 'nic-rom': 'ipxe-qemu', window: 'qemu-system-gui' } as const;
/** dpkg -S on Debian 12 and 13 (13's minbase has no e2fsprogs, hence no chattr); flock, setpriv and taskset: util-linux (dpkg -S /usr/bin/flock on Debian 12). */
const DEB_TEST = { unshare: 'util-linux', setpriv: 'util-linux', script: 'bsdutils', chattr: 'e2fsprogs', strace: 'strace', ip: 'iproute2', git: 'git' } as const;
const DEB_SOURCE = { package: 'linux-source-{major}.{minor}', tarballs: ['/usr/src/linux-source-{major}.{minor}.tar.xz', '/usr/src/linux-source-{major}.{minor}.tar.bz2'] } as const;
const DEB_KERNEL = { target: 'bindeb-pkg' } as const;
/** dpkg and APT (dpkg-query(1), apt-cache(8)); linux-base's and initramfs-tools' kernel hooks live in /etc/kernel/postinst.d (Debian kernel handbook 8.1). */
const DEB_FEATURES: readonly DistroFeature[] = ['dpkg', 'apt-cache', 'kernel-postinst.d'];

const RPM_BUILD = { make: 'make', gcc: 'gcc', flex: 'flex', bison: 'bison', bc: 'bc', perl: 'perl', patch: 'patch', libelf: 'elfutils-libelf-devel', openssl: 'openssl-devel', pahole: 'dwarves', xz: 'xz', zstd: 'zstd' } as const;
const RPM_PACKAGING: readonly PackagingTool[] = [{ what: 'rpmbuild', command: 'rpmbuild', package: 'rpm-build' }];
const RPM_KERNEL = { target: 'binrpm-pkg' } as const;

/** What Debian 12 and 13 share: only the release, its evidence and its kernel differ. */
// rclone 1.60.1 in bookworm (apt-cache policy rclone, seen here); netatalk: none in bookworm, 4.2.3 in trixie (KNOWLEDGE.md).
const DEB_WEBDAV = { webdav: 'rclone' } as const;
const DEB_AFP = { webdav: 'rclone', afp: 'netatalk' } as const;

const DEBIAN = {
  evidence: 'captured',
  packages: APT,
  // 7zip: 7-Zip 22.01 in bookworm, 26.02 from bookworm-security (apt-cache policy 7zip, seen here).
  names: { build: DEB_BUILD, crossGcc: 'gcc-{triplet}', packaging: DEB_PACKAGING, headers: 'linux-headers-{release}', qemu: DEB_QEMU, sevenZip: '7zip', xorriso: 'xorriso', utilLinux: 'util-linux', test: DEB_TEST, liveShare: DEB_AFP },
  kernelArgs: { usual: 'grub-default', regenerate: GRUB_ANY },
  kernelSource: DEB_SOURCE,
  kernelPackaging: DEB_KERNEL,
  features: DEB_FEATURES,
} as const;

export const DISTROS: readonly Distro[] = [
  {
    ...DEBIAN,
    id: 'debian-12',
    name: 'Debian 12 (bookworm)',
    source: 'the POWER9 box captures (tests/fixtures/snapshots/debian12-*, box-debian12-*, their boot/config-6.1.*) and a fresh Debian 12 install',
    osRelease: { ids: ['debian'], versionIds: ['12'] },
    names: { ...DEBIAN.names, liveShare: DEB_WEBDAV },
    kvmPr: 'kernel 6.1: no KVM_BOOK3S_64_PR (NO_HZ_FULL=y, VIRT_CPU_ACCOUNTING_GEN=y select CONTEXT_TRACKING_USER): a new kernel is needed',
  },
  {
    ...DEBIAN,
    id: 'debian-13',
    name: 'Debian 13 (trixie)',
    source: 'the POWER9 box captures (tests/fixtures/snapshots/box-debian13-*, their boot/config-6.12.*)',
    osRelease: { ids: ['debian'], versionIds: ['13'] },
    kvmPr: 'kernel 6.12: no KVM_BOOK3S_64_PR (NO_HZ_FULL=y, VIRT_CPU_ACCOUNTING_GEN=y): a new kernel is needed',
  },
  {
    ...DEBIAN,
    id: 'debian-14',
    name: 'Debian 14 (forky; unstable)',
    // Unstable's os-release has no VERSION_ID (base-files 14.2): the last Debian row is the one it gets.
    source: "the POWER9 box capture of unstable's stock kernel as its split packages install it (tests/fixtures/snapshots/box-debian14-7.2-hash); its packages (tests/fixtures/debian-unstable/): base-files 14.2's os-release, linux-image/-binary/-base/-modules-7.2.13+deb14-powerpc64le 7.2.13-1, linux-base 4.17",
    osRelease: { ids: ['debian'], versionIds: ['14'] },
    kernelLayout: 'usr-lib-modules',
    kvmPr: 'kernel 7.2: no KVM_BOOK3S_64_PR (NO_HZ_FULL=y, VIRT_CPU_ACCOUNTING_GEN=y): a new kernel is needed',
  },
  {
    id: 'ubuntu',
    name: 'Ubuntu',
    evidence: 'published',
    source: "Debian's package names; linux-source-X.Y.Z leaves /usr/src/linux-source-X.Y.Z/linux-source-X.Y.Z.tar.bz2 (the noble package's contents)",
    osRelease: { ids: ['ubuntu'] },
    packages: APT,
    // 7zip: in Ubuntu's universe since 22.04 (older releases: p7zip-full).
    names: { build: DEB_BUILD, crossGcc: 'gcc-{triplet}', packaging: DEB_PACKAGING, headers: 'linux-headers-{release}', qemu: DEB_QEMU, sevenZip: '7zip', xorriso: 'xorriso', utilLinux: 'util-linux', test: DEB_TEST },
    kernelArgs: { usual: 'grub-default', regenerate: GRUB_ANY },
    kernelSource: { package: 'linux-source-{major}.{minor}.{patch}', tarballs: ['/usr/src/linux-source-{major}.{minor}.{patch}/linux-source-{major}.{minor}.{patch}.tar.bz2'] },
    kernelPackaging: DEB_KERNEL,
    features: DEB_FEATURES,
    kvmPr: 'no KVM_BOOK3S_64_PR (VIRT_CPU_ACCOUNTING_GEN=y): a new kernel is needed',
  },
  {
    id: 'fedora',
    name: 'Fedora',
    evidence: 'published',
    source: "Fedora's ppc64le kernel config and package names (fedora-release.spec for os-release)",
    osRelease: { ids: ['fedora'] },
    packages: DNF,
    names: {
      build: RPM_BUILD,
      crossGcc: 'gcc-{cpu}-linux-gnu',
      packaging: RPM_PACKAGING,
      headers: 'kernel-devel-{release}',
      qemu: { 'qemu-system-ppc': 'qemu-system-ppc', 'qemu-img': 'qemu-img', openbios: 'openbios', 'vga-rom': 'seavgabios-bin', 'nic-rom': 'ipxe-roms-qemu', window: 'qemu-ui-gtk' },
      xorriso: 'xorriso',
    },
    kernelArgs: { usual: 'bls', regenerate: ['grub2-mkconfig', 'grub-mkconfig', 'update-grub'] },
    kernelSource: 'kernel.org only',
    kernelPackaging: RPM_KERNEL,
    kvmPr: 'config asks for PR=m but sets NO_HZ_FULL=y and VIRT_CPU_ACCOUNTING_GEN=y: very likely no kvm-pr since 6.1',
  },
  {
    id: 'rhel',
    name: 'RHEL, CentOS Stream, AlmaLinux, Rocky Linux',
    evidence: 'published',
    source: "the distributions' kernel configs (# CONFIG_KVM_BOOK3S_64_PR is not set); Fedora's devel package names",
    osRelease: { ids: ['rhel', 'centos', 'almalinux', 'rocky'] },
    packages: DNF,
    // No qemu-system-ppc in these distributions' repositories (only qemu-kvm for the host's own architecture).
    names: { build: RPM_BUILD, packaging: RPM_PACKAGING, headers: 'kernel-devel-{release}', qemu: {} },
    kernelArgs: { usual: 'bls', regenerate: ['grub2-mkconfig', 'grub-mkconfig', 'update-grub'] },
    kernelSource: 'kernel.org only',
    kernelPackaging: RPM_KERNEL,
    kvmPr: 'CONFIG_KVM_BOOK3S_64_PR is not set: a new kernel is needed',
  },
  {
    id: 'opensuse',
    name: 'openSUSE (Tumbleweed, Leap) and SLES',
    evidence: 'published',
    source: "openSUSE's package names and Tumbleweed's ppc64le kernel config (openSUSE-release.spec for os-release)",
    osRelease: { ids: ['opensuse-tumbleweed', 'opensuse-leap', 'opensuse', 'sles', 'suse'] },
    packages: ZYPPER,
    names: {
      build: { make: 'make', gcc: 'gcc', flex: 'flex', bison: 'bison', bc: 'bc', perl: 'perl', patch: 'patch', libelf: 'libelf-devel', openssl: 'libopenssl-devel', pahole: 'dwarves', xz: 'xz', zstd: 'zstd' },
      crossGcc: 'cross-{cpu}-gcc',
      packaging: [],
      headers: 'kernel-default-devel',
      qemu: { 'qemu-system-ppc': 'qemu-ppc', 'qemu-img': 'qemu-tools', openbios: 'qemu-ppc' },
      xorriso: 'xorriso',
    },
    kernelArgs: { usual: 'grub-default', regenerate: ['grub2-mkconfig', 'grub-mkconfig', 'update-grub'] },
    kernelSource: 'kernel.org only',
    kernelPackaging: { target: 'none' },
    kvmPr: 'Tumbleweed (6.10): NO_HZ_FULL=y, no PR, 64K pages: a new kernel is needed',
  },
  {
    id: 'chimera',
    name: 'Chimera Linux',
    evidence: 'published',
    source: 'chimera-linux/cports: main/base-files (os-release), main/qemu (subpackages), main/grub (update-grub), main/linux-*/files/config-ppc64le.generic',
    osRelease: { ids: ['chimera'] },
    packages: APK,
    // Build tools are left out: its kernel has kvm-pr, and its (clang, bsdutils) toolchain names are not checked here.
    // qemu-system-ppc carries openbios-ppc; the other ROMs and the GTK/SDL display stay in the qemu package it depends on.
    names: { build: {}, packaging: [], qemu: { 'qemu-system-ppc': 'qemu-system-ppc', 'qemu-img': 'qemu-img', openbios: 'qemu-system-ppc', 'vga-rom': 'qemu', 'nic-rom': 'qemu', window: 'qemu' } },
    kernelArgs: { usual: 'grub-default', regenerate: GRUB_ANY },
    kernelSource: 'kernel.org only',
    kernelPackaging: { target: 'none' },
    kvmPr: 'linux-lts and linux-stable: PR=m with NO_HZ_FULL and VIRT_CPU_ACCOUNTING_GEN off: kvm-pr works as installed (hash MMU still needed)',
  },
];

/** Any system no row recognises: no package names, every boot-loader candidate. */
export const UNKNOWN_DISTRO: Distro = {
  id: 'unknown',
  name: 'an unrecognised distribution',
  evidence: 'published',
  source: 'none: nothing is assumed',
  osRelease: { ids: [] },
  packages: undefined,
  names: { build: {}, packaging: [], qemu: {} },
  kernelArgs: { regenerate: GRUB_ANY },
  kernelSource: 'kernel.org only',
  kernelPackaging: { target: 'none' },
  kvmPr: 'unknown',
};
