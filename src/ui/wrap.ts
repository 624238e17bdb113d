/**
 * Wraps one line of output to `width` columns at spaces only: a word (a path) is never split,
 * however long, and a command to type (`talos-mac …` up to the end of its clause, `a command` in
 * backquotes) moves to a line of its own rather than being broken. Continuation lines hang under
 * the text: after the line's own indent and marker ("  ✓ ", "[!] ", "  - ", "  → ", "  note: "), or
 * under the value of a "key  value" row. A fix line ("  $ command") is one command: when it cannot
 * fit, it is continued the way a shell reads it (" \" at the end of each part). A width of 0 (not
 * a terminal) leaves the line alone.
 */
const SGR = '(?:\\x1b\\[[0-9;]*m)*';
const ANSI = /\x1b\[[0-9;]*m/g;
export const visible = (s: string): number => [...s.replace(ANSI, '')].length;

// The indent, then at most one marker: [✓] ✓ ! ✗ i - → $ • * "1." or, on an indented line, "label:".
const LEAD = new RegExp(`^(${SGR}\\s*${SGR}(?:(?:\\[[^\\]\\s]{1,3}\\]|[✓!✗i→$•*-]|\\d{1,2}[.)])${SGR} +|(?<=^${SGR} {2,}${SGR})[A-Za-z][A-Za-z -]{0,14}:${SGR} +)?)`);
// A "key  value" row: a short key, then two or more spaces.
const KEY = new RegExp(`^((?:[^ ]+ ){0,2}[^ ]+${SGR} {2,})(?=\\S)`);

const ENDS_CLAUSE = /[.,;:)`]$/;

/** The words, with a command to type kept as one unit. */
function units(words: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    const plain = w.replace(ANSI, '');
    const command = plain === 'talos-mac' || (plain.startsWith('`') && !/`\W*$/.test(plain.slice(1)));
    if (!command) {
      out.push([w]);
      continue;
    }
    const unit = [w];
    while (i + 1 < words.length) {
      const next = words[i + 1] as string;
      const last = (unit[unit.length - 1] as string).replace(ANSI, '');
      if (next === '' || next.startsWith('(') || next === '|' || (unit.length > 1 && ENDS_CLAUSE.test(last)) || (plain.startsWith('`') && /`\W*$/.test(last) && unit.length > 1)) break;
      unit.push(next);
      i++;
    }
    out.push(unit);
  }
  return out;
}

/**
 * A command too long for one line: its comment ("# …", never continued by a backslash) on a line of
 * its own, and the command continued as a shell reads it (" \" at the end of each part).
 */
function commandLines(lead: string, command: string, width: number): string[] {
  const at = command.search(/ +# /);
  if (at > 0) {
    const comment = command.slice(at).trimStart();
    const under = ' '.repeat(visible(lead));
    return [...commandLines(lead, command.slice(0, at), width), ...wrapLine(under + comment, width).map((l, i) => (i === 0 ? l : l.replace(/^( *)/, '$1# ')))];
  }
  if (visible(lead + command) <= width) return [lead + command];
  const out: string[] = [];
  // Continuations a little further in than the command, where that leaves room to read.
  const pad = ' '.repeat(width - visible(lead) - 2 >= 30 ? visible(lead) + 2 : 4);
  let current = lead;
  let fresh = true;
  for (const w of command.split(' ')) {
    const candidate = fresh ? current + w : `${current} ${w}`;
    // Room for the " \" that continues the line.
    if (!fresh && visible(candidate) + 2 > width) {
      out.push(`${current} \\`);
      current = pad + w;
    } else current = candidate;
    fresh = false;
  }
  out.push(current);
  return out;
}

/** Enough room to read a line after `pad` columns of indent. */
const roomy = (pad: number, width: number): boolean => width - pad >= Math.min(40, Math.floor(width / 2));
const outdent = (lead: string, at: number): string => lead.replace(/^((?:\x1b\[[0-9;]*m)*)( *)/, (_s, sgr: string, sp: string) => sgr + ' '.repeat(Math.min(sp.length, at)));

export function wrapLine(line: string, width: number): string[] {
  if (width <= 0) return [line];
  let lead = LEAD.exec(line)?.[1] ?? '';
  let rest = line.slice(lead.length);
  const command = /\$\S* +$/.test(lead.replace(ANSI, ''));
  // A narrow terminal: a deep indent gives way to the text (every line of a block alike, whether it
  // fits or not, so a fix's commands stay under its text).
  if (!roomy(visible(lead), width)) lead = outdent(lead, command ? 8 : 6);
  if (visible(lead + rest) <= width) return [lead + rest];
  if (command) return commandLines(lead, rest, width);
  const out: string[] = [];
  let pad = visible(lead);
  const key = KEY.exec(rest)?.[1];
  if (key !== undefined) {
    if (roomy(visible(lead + key), width)) pad = visible(lead + key);
    else {
      // The value does not fit beside its key: it goes under it.
      out.push((lead + key).replace(/ +$/, ''));
      lead = ' '.repeat(Math.min(pad + 2, 6));
      rest = rest.slice(key.length);
      pad = visible(lead);
      if (visible(lead + rest) <= width) return [...out, lead + rest];
    }
  }
  if (!roomy(pad, width)) pad = Math.min(pad, 4);
  const indent = ' '.repeat(pad);
  const base = /^ */.exec(line.replace(ANSI, ''))?.[0].length ?? 0;
  const queue = units(rest.split(' '));
  let current = lead;
  let fresh = true;
  while (queue.length > 0) {
    const unit = queue.shift() as string[];
    const text = unit.join(' ');
    if (fresh && text === '' && out.length > 0) continue;
    const candidate = fresh ? current + text : `${current} ${text}`;
    if (visible(candidate) <= width) {
      current = candidate;
      fresh = false;
    } else if (unit.length > 1 && (fresh || visible(indent + text) > width)) {
      // A command longer than a line: it starts a line, and its words wrap like any others.
      if (!fresh) {
        out.push(current.replace(/ +$/, ''));
        current = indent;
      }
      fresh = false;
      current += unit[0] as string;
      queue.unshift(...unit.slice(1).map((w) => [w]));
    } else if (fresh) {
      current = candidate;
      fresh = false;
    } else {
      out.push(current.replace(/ +$/, ''));
      // A word (a path) too long for the hanging indent comes further out, where that lets it fit.
      current = visible(indent + text) > width && base + 2 < pad && base + 2 + visible(text) <= width ? ' '.repeat(base + 2) : indent;
      fresh = true;
      queue.unshift(unit);
    }
  }
  out.push(current);
  return out;
}

/** Every line of a text wrapped; the text's own line breaks stay. */
export function wrapText(text: string, width: number): string {
  if (width <= 0) return text;
  return text
    .split('\n')
    .flatMap((l) => wrapLine(l, width))
    .join('\n');
}
