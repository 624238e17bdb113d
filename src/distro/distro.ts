/**
 * The running system's row of the distribution table, and the few questions callers ask of it.
 * Nothing here knows a distribution by name: that is src/distro/table.ts.
 */
import { kernelVersion } from '../parse/kernel-release.js';
import { shellLine } from '../ui/shell-quote.js';
import type { Host } from '../host/host.js';
import { parseOsRelease } from '../parse/os-release.js';
import { DISTROS, UNKNOWN_DISTRO, type BuildTool, type Distro, type DistroFeature, type PackagingTool, type QemuPiece } from './table.js';

export type { BuildTool, Distro, DistroFeature, GrubRegenerator, PackagingTool, QemuPiece } from './table.js';
export { DISTROS, UNKNOWN_DISTRO } from './table.js';

/** The row for this /etc/os-release (parseOsRelease): ID first, then ID_LIKE in its order (closest first, os-release(5)). */
export function distroOf(osRelease: ReadonlyMap<string, string>, table: readonly Distro[] = DISTROS): Distro {
  const id = (osRelease.get('ID') ?? '').toLowerCase();
  const like = (osRelease.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const version = osRelease.get('VERSION_ID');
  for (const name of [id, ...like]) {
    if (!name) continue;
    const rows = table.filter((d) => d.osRelease.ids.includes(name));
    if (rows.length === 0) continue;
    // VERSION_ID is the release of ID's distribution, never of one it is like.
    const exact = name === id && version !== undefined ? rows.find((d) => d.osRelease.versionIds?.includes(version)) : undefined;
    return exact ?? rows[rows.length - 1]!;
  }
  return UNKNOWN_DISTRO;
}

/** The row of the system `host` reads (its /etc/os-release). */
export async function distroOfHost(host: Pick<Host, 'readFile'>): Promise<Distro> {
  const r = await host.readFile('/etc/os-release');
  return distroOf(parseOsRelease(r.ok ? r.data.toString('utf8') : ''));
}

/** Does this distribution offer `feature` (the row's `features`)? */
export const hasFeature = (d: Distro, feature: DistroFeature): boolean => d.features?.includes(feature) ?? false;

/**
 * What to tell a person who lacks `what` (a program): the install line from the row when it knows
 * the package, else the program in words (no package name guessed for a distribution the row lacks).
 */
export function installAdvice(d: Distro, pkg: string | undefined, what: string): string {
  const hint = installHint(d, [pkg]);
  return hint ? `Install it: ${hint}` : `Install ${what} with your distribution's package manager (talos-mac does not know its package on ${d.name})`;
}

/** A template of the table filled in; undefined when it needs something unknown (a release without a version). */
export function fill(template: string | undefined, vars: { release?: string; triplet?: string }): string | undefined {
  if (template === undefined) return undefined;
  const v = vars.release !== undefined ? kernelVersion(vars.release) : undefined;
  const values: Record<string, string | undefined> = {
    release: vars.release,
    major: v && String(v[0]),
    minor: v && String(v[1]),
    patch: v && String(v[2]),
    triplet: vars.triplet,
    cpu: vars.triplet?.split('-')[0],
  };
  let missing = false;
  const out = template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? ((missing = true), ''));
  return missing ? undefined : out;
}

/** argv that installs these packages unattended (what setup runs); [] when the distribution's tool is unknown. */
export function installArgv(d: Distro, packages: readonly string[]): string[] {
  return d.packages && packages.length > 0 ? d.packages.install(packages) : [];
}

/** The line a person copies: `sudo apt-get install qemu-system-ppc`; undefined when the tool or a name is unknown. */
export function installHint(d: Distro, packages: readonly (string | undefined)[]): string | undefined {
  if (!d.packages || packages.length === 0 || packages.some((p) => p === undefined)) return undefined;
  return `sudo ${shellLine(d.packages.ask(packages as string[]))}`;
}

export function qemuPackage(d: Distro, piece: QemuPiece): string | undefined {
  return d.names.qemu[piece];
}

export function buildToolPackage(d: Distro, tool: BuildTool): string | undefined {
  return d.names.build[tool];
}

/** The cross compiler's package for CROSS_COMPILE (e.g. "powerpc64le-linux-gnu-"). */
export function crossGccPackage(d: Distro, crossCompile: string): string | undefined {
  return fill(d.names.crossGcc, { triplet: crossCompile.replace(/-$/, '') });
}

export function packagingTools(d: Distro): readonly PackagingTool[] {
  return d.names.packaging;
}

/** The package that holds Module.symvers for this distribution's kernel `release`. */
export function headersPackage(d: Distro, release: string): string | undefined {
  return fill(d.names.headers, { release });
}

/** The distribution's kernel source package for `release`, when it has one. */
export function sourcePackage(d: Distro, release: string): string | undefined {
  return d.kernelSource === 'kernel.org only' ? undefined : fill(d.kernelSource.package, { release });
}

/** Where that source package leaves its tarball. */
export function sourceTarballs(d: Distro, release: string): string[] {
  if (d.kernelSource === 'kernel.org only') return [];
  return d.kernelSource.tarballs.map((t) => fill(t, { release })).filter((t): t is string => t !== undefined);
}
