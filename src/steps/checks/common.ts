import { distroFamily, type DistroFamily } from '../../parse/os-release.js';
import type { Facts } from '../facts.js';
import type { StepContext, StepResult } from '../step.js';

export function isPowerArch(arch: string): boolean {
  return /^(ppc64le|ppc64|ppc)$/.test(arch);
}

/** For checks that only mean something on a POWER host: the not-applicable result elsewhere. */
export async function unlessPower(ctx: StepContext): Promise<StepResult | undefined> {
  const arch = await ctx.facts.arch();
  if (!arch.ok) return { state: 'unknown', summary: `cannot tell the architecture: ${arch.reason}` };
  if (isPowerArch(arch.value)) return undefined;
  return { state: 'not-applicable', summary: `not a POWER host (${arch.value})` };
}

/** This host's distribution family (package names, install tools). */
export async function distroOf(facts: Facts): Promise<DistroFamily> {
  return distroFamily(await facts.osRelease());
}

/** The install command for this distribution; packages named per family. */
export async function installCommand(facts: Facts, pkgs: Partial<Record<DistroFamily, string>>): Promise<string | undefined> {
  const family = await distroOf(facts);
  const pkg = pkgs[family];
  if (!pkg) return undefined;
  switch (family) {
    case 'debian':
      return `sudo apt-get install ${pkg}`;
    case 'fedora':
      return `sudo dnf install ${pkg}`;
    case 'suse':
      return `sudo zypper install ${pkg}`;
    case 'arch':
      return `sudo pacman -S ${pkg}`;
    default:
      return undefined;
  }
}
