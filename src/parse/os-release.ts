/** /etc/os-release as KEY -> value (quotes removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!.replace(/^["'](.*)["']$/, '$1'));
  }
  return map;
}

export type DistroFamily = 'debian' | 'fedora' | 'suse' | 'arch' | 'other';

/** The family whose package names and tools apply, from ID and ID_LIKE (never from the name alone). */
export function distroFamily(osRelease: ReadonlyMap<string, string>): DistroFamily {
  const ids = `${osRelease.get('ID') ?? ''} ${osRelease.get('ID_LIKE') ?? ''}`.toLowerCase().split(/\s+/);
  if (ids.some((i) => i === 'debian' || i === 'ubuntu')) return 'debian';
  if (ids.some((i) => ['fedora', 'rhel', 'centos'].includes(i))) return 'fedora';
  if (ids.some((i) => i.startsWith('suse') || i.startsWith('opensuse'))) return 'suse';
  if (ids.includes('arch')) return 'arch';
  return 'other';
}
