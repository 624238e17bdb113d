/**
 * Where a kernel's own files are, by the layout its distribution installs. Debian until 13 (and
 * Kbuild's bindeb-pkg) ship /boot/config-REL and /boot/vmlinux-REL in linux-image-REL. Debian
 * unstable (Linux 7.x) splits that package: linux-base-REL holds /usr/lib/modules/REL/config,
 * linux-binary-REL /usr/lib/modules/REL/vmlinuz, and linux-base 4.16/4.17's postinst.d hook
 * (00-legacy-boot) only copies them to /boot when it runs, so /boot may lack them
 * (tests/fixtures/debian-unstable/). Both places are read whatever the layout; it decides which comes
 * first, so that the file a package owns (dpkg -S: the provenance record) is the one used.
 */

/** What a distribution release installs: /boot files (the default), or /usr/lib/modules/REL/{config,vmlinuz}. */
export type KernelLayout = 'boot' | 'usr-lib-modules';

/** The running kernel's configuration, when built with IKCONFIG_PROC. */
export const PROC_CONFIG = '/proc/config.gz';

export const modulesDirConfig = (release: string): string => `/usr/lib/modules/${release}/config`;

/** A release's configuration files, in the order read (PROC_CONFIG comes after them, for the running kernel only). */
export function kernelConfigPaths(release: string, layout: KernelLayout = 'boot'): string[] {
  const both = [`/boot/config-${release}`, modulesDirConfig(release)];
  return layout === 'usr-lib-modules' ? both.reverse() : both;
}

