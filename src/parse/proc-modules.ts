/** Names of loaded modules from /proc/modules ("kvm_pr 393216 0 - Live 0x..."). */
export function parseProcModules(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    if (name) names.add(name);
  }
  return names;
}

/** Whether modules.dep / modules.builtin list a module file (any compression), e.g. "kvm-pr". */
export function moduleListed(listing: string, fileStem: string): string | undefined {
  const re = new RegExp(`^(\\S*/${fileStem.replace(/[-_]/g, '[-_]')}\\.ko(?:\\.(?:xz|zst|gz))?)(?::|$)`, 'm');
  return re.exec(listing)?.[1];
}
