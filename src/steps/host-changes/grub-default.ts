/**
 * Pure editing of /etc/default/grub: add or remove one kernel argument in the GRUB_CMDLINE_LINUX
 * assignment that counts (the last one: grub-mkconfig sources the file as shell), leaving every other
 * byte as it was. Text is handled as latin1 so that any encoding round-trips byte for byte.
 */

export const GRUB_DEFAULT_PATH = '/etc/default/grub';

export interface Assignment {
  /** Offset of the first character of the value (just after `=`). */
  valueStart: number;
  /** Offset just past the value's shell word. */
  valueEnd: number;
  /** The quote that closes the word, if its last segment is quoted. */
  closingQuote?: '"' | "'";
  /** The value as the shell sees it. */
  value: string;
}

export type EditResult =
  | { ok: true; changed: boolean; text: string }
  | { ok: false; reason: string };

const ASSIGNMENT = /^[ \t]*(?:export[ \t]+)?GRUB_CMDLINE_LINUX=/gm;

/** Scans one shell word from `start`; undefined when a quote is left open (a multi-line value). */
function scanWord(text: string, start: number): Omit<Assignment, 'valueStart'> | undefined {
  let i = start;
  let value = '';
  let closingQuote: '"' | "'" | undefined;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const q = c;
      i++;
      while (i < text.length && text[i] !== q) {
        if (q === '"' && text[i] === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) i++;
        value += text[i++];
      }
      if (i >= text.length || text[i] !== q) return undefined;
      i++;
      closingQuote = q;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '#' || c === ';' || c === '&' || c === '|') {
      break;
    } else {
      if (c === '\\' && i + 1 < text.length) i++;
      value += text[i++];
      closingQuote = undefined;
    }
  }
  return { valueEnd: i, value, ...(closingQuote ? { closingQuote } : {}) };
}

/** The GRUB_CMDLINE_LINUX assignment the shell ends up with, or why it cannot be edited safely. */
export function effectiveAssignment(text: string): Assignment | { missing: true } | { unsupported: string } {
  let last: number | undefined;
  for (const m of text.matchAll(ASSIGNMENT)) last = m.index! + m[0].length;
  if (last === undefined) return { missing: true };
  const word = scanWord(text, last);
  if (!word) return { unsupported: 'its GRUB_CMDLINE_LINUX value spans several lines' };
  return { valueStart: last, ...word };
}

function appendedLine(token: string): string {
  return `GRUB_CMDLINE_LINUX="${token}"  # added by talos-mac setup`;
}

function words(value: string): string[] {
  return value.split(/\s+/).filter(Boolean);
}

export function hasArgument(text: string, token: string): boolean {
  const a = effectiveAssignment(text);
  return 'valueStart' in a && words(a.value).includes(token);
}

/** Adds `token` to GRUB_CMDLINE_LINUX; a second call changes nothing. */
export function addArgument(text: string, token: string): EditResult {
  const a = effectiveAssignment(text);
  if ('unsupported' in a) return { ok: false, reason: a.unsupported };
  if ('missing' in a) {
    const line = appendedLine(token);
    // Kept injective (so that removeArgument can invert it): a file without a final newline gets none either.
    return { ok: true, changed: true, text: text.length === 0 || text.endsWith('\n') ? `${text}${line}\n` : `${text}\n${line}` };
  }
  if (words(a.value).includes(token)) return { ok: true, changed: false, text };
  const { at, insert } = insertion(a, token);
  return { ok: true, changed: true, text: text.slice(0, at) + insert + text.slice(at) };
}

/** Where addArgument puts the token and what it inserts; removeArgument undoes exactly this. */
function insertion(a: Assignment, token: string): { at: number; insert: string } {
  const empty = a.value.trim() === '';
  const spaced = empty ? token : ` ${token}`;
  if (a.closingQuote) return { at: a.valueEnd - 1, insert: spaced };
  if (a.valueEnd === a.valueStart) return { at: a.valueEnd, insert: token };
  // An unquoted word: append a quoted segment; the shell joins them into one word.
  return { at: a.valueEnd, insert: `"${spaced}"` };
}

/**
 * Removes the token where addArgument put it, restoring the bytes it had before; refuses (changes
 * nothing) when the token sits anywhere else, because then a person put it there.
 */
export function removeArgument(text: string, token: string): EditResult {
  const a = effectiveAssignment(text);
  if ('unsupported' in a) return { ok: false, reason: a.unsupported };
  if ('missing' in a || !words(a.value).includes(token)) return { ok: true, changed: false, text };
  for (const candidate of removalCandidates(text, a, token)) {
    const again = addArgument(candidate, token);
    if (again.ok && again.changed && again.text === text) return { ok: true, changed: true, text: candidate };
  }
  return { ok: false, reason: `${token} is in GRUB_CMDLINE_LINUX, but not where talos-mac put it: remove it by hand if you want it gone` };
}

function removalCandidates(text: string, a: Assignment, token: string): string[] {
  const out: string[] = [];
  const line = appendedLine(token);
  if (text.endsWith(`${line}\n`) || text.endsWith(`\n${line}`)) out.push(text.slice(0, -line.length - 1));
  const raw = text.slice(a.valueStart, a.valueEnd);
  const strip = (suffix: string, keep: string) => {
    if (raw.endsWith(suffix)) out.push(text.slice(0, a.valueEnd - suffix.length) + keep + text.slice(a.valueEnd));
  };
  // Most specific first: the forms insertion() produces for unquoted, quoted and empty values.
  strip(`" ${token}"`, '');
  for (const q of ['"', "'"]) {
    strip(` ${token}${q}`, q);
    strip(`${token}${q}`, q);
  }
  strip(token, '');
  return out;
}
