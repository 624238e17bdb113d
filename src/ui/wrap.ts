/**
 * Wraps one line of output to `width` columns at spaces only: a word (a path, a command) is never
 * split, however long. Continuation lines start under the text, after the line's own indent and
 * marker ("  ✓ ", "          → ", "  $ "). A width of 0 (unknown) leaves the line alone.
 */
const visible = (s: string): number => [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;

export function wrapLine(line: string, width: number): string[] {
  if (width <= 0 || visible(line) <= width) return [line];
  const lead = /^(\s*(?:[✓!✗i\-→$]\s+)?)/.exec(line)?.[1] ?? '';
  const pad = ' '.repeat(visible(lead) >= width / 2 ? 2 : visible(lead));
  const words = line.slice(lead.length).split(' ');
  const out: string[] = [];
  let current = lead;
  let fresh = true;
  for (const w of words) {
    const candidate = fresh ? current + w : `${current} ${w}`;
    if (!fresh && visible(candidate) > width) {
      out.push(current);
      current = pad + w;
    } else {
      current = candidate;
    }
    fresh = false;
  }
  out.push(current);
  return out;
}
