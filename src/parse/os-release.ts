/** /etc/os-release as KEY -> value (quotes removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!.replace(/^["'](.*)["']$/, '$1'));
  }
  return map;
}
