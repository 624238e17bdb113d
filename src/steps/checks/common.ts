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

export type Distro = 'debian' | 'fedora' | 'suse' | 'arch' | 'other';

export async function distroFamily(facts: Facts): Promise<Distro> {
  const os = await facts.osRelease();
  const ids = `${os.get('ID') ?? ''} ${os.get('ID_LIKE') ?? ''}`.toLowerCase();
  if (/\b(debian|ubuntu)\b/.test(ids)) return 'debian';
  if (/\b(fedora|rhel|centos)\b/.test(ids)) return 'fedora';
  if (/\bsuse\b/.test(ids)) return 'suse';
  if (/\barch\b/.test(ids)) return 'arch';
  return 'other';
}

/** The install command for this distribution; packages named per family. */
export async function installCommand(facts: Facts, pkgs: Partial<Record<Distro, string>>): Promise<string | undefined> {
  const family = await distroFamily(facts);
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
