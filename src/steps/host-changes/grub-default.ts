import { lineAt, scanShell, type ShellScan } from './grub-shell.js';

/**
 * Pure editing of /etc/default/grub: add or remove one kernel argument in the GRUB_CMDLINE_LINUX
 * assignment that counts (the last plain one: grub-mkconfig sources the file as shell, see
 * grub-shell.ts), leaving every other byte as it was; refusing whenever that is not certain. Text is handled as latin1 so that any encoding round-trips byte for byte.
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

const NAME = 'GRUB_CMDLINE_LINUX';

/**
 * The value of a shell word as bash reads it, when that needs no evaluation: quotes and backslashes
 * only. Undefined when the word expands something ($…, `…`) outside single quotes.
 */
function literalWord(raw: string): { value: string; closingQuote?: '"' | "'" } | undefined {
  let value = '';
  let closingQuote: '"' | "'" | undefined;
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === "'") {
      const e = raw.indexOf("'", i + 1);
      value += raw.slice(i + 1, e);
      i = e + 1;
      closingQuote = "'";
    } else if (c === '"') {
      i++;
      while (raw[i] !== '"') {
        if (raw[i] === '$' || raw[i] === '`') return undefined;
        if (raw[i] === '\\' && raw[i + 1] === '\n') i += 2;
        else if (raw[i] === '\\' && '"\\$`'.includes(raw[i + 1]!)) {
          value += raw[i + 1];
          i += 2;
        } else value += raw[i++];
      }
      i++;
      closingQuote = '"';
    } else if (c === '$' || c === '`') {
      return undefined;
    } else {
      if (c === '\\') {
        if (raw[i + 1] !== '\n') value += raw[i + 1] ?? '';
        i += 2;
      } else {
        value += c;
        i++;
      }
      closingQuote = undefined;
    }
  }
  return { value, ...(closingQuote ? { closingQuote } : {}) };
}

/** Where `name` occurs outside comments as anything but a plain assignment's name. */
function otherUses(text: string, scan: ShellScan, name: string): number[] {
  const plain = new Set(scan.assignments.filter((a) => a.plain && a.name === name).map((a) => a.nameStart));
  const out: number[] = [];
  for (const m of text.matchAll(new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`, 'g'))) {
    const at = m.index!;
    if (plain.has(at) || scan.exported.includes(at) || scan.comments.some(([s, e]) => at >= s && at < e)) continue;
    out.push(at);
  }
  return out;
}

/**
 * The assignment of `name` that bash ends up with (the last plain one: grub-mkconfig sources the
 * file), or why talos-mac cannot be certain which one that is or what it holds.
 */
export function effectiveAssignment(text: string, name = NAME): Assignment | { missing: true } | { unsupported: string } {
  const nul = text.indexOf('\0');
  if (nul >= 0) return { unsupported: `it holds a NUL byte (line ${lineAt(text, nul)}), so it is not a text file bash reads as written` };
  const cr = text.indexOf('\r');
  if (cr >= 0) {
    return {
      unsupported: `it has DOS (CRLF) line endings (line ${lineAt(text, cr)}): bash reads the CR as part of each value. Convert it first: sed -i 's/\\r$//' /etc/default/grub`,
    };
  }
  const scan = scanShell(text);
  if (scan.unsupported) return { unsupported: `bash syntax talos-mac does not follow: ${scan.unsupported}` };
  const other = otherUses(text, scan, name);
  if (other.length > 0) {
    const at = other[0]!;
    const a = scan.assignments.find((x) => x.nameStart === at);
    const how = a
      ? 'an assignment that may not run or may not last (inside if/while/case/a function or subshell, after && or ||, before a command, with +=, or in the background)'
      : 'a reference or a word inside another value or command';
    return { unsupported: `line ${lineAt(text, at)} uses ${name} in ${how}` };
  }
  const last = scan.assignments.filter((a) => a.plain && a.name === name).pop();
  if (!last) return { missing: true };
  const raw = text.slice(last.valueStart, last.valueEnd);
  const word = literalWord(raw);
  if (!word) return { unsupported: `its ${name} value (line ${last.line}) expands $… or \`…\`, which only bash can evaluate` };
  return { valueStart: last.valueStart, valueEnd: last.valueEnd, value: word.value, ...(word.closingQuote ? { closingQuote: word.closingQuote } : {}) };
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
  const conflict = conflictingSetting(text, a, token);
  if (conflict) return { ok: false, reason: conflict };
  if ('missing' in a) {
    if (/\\\n?$/.test(text)) return { ok: false, reason: 'its last line ends with a backslash, which would join a new line to it' };
    const line = appendedLine(token);
    // Kept injective (so that removeArgument can invert it): a file without a final newline gets none either.
    return { ok: true, changed: true, text: text.length === 0 || text.endsWith('\n') ? `${text}${line}\n` : `${text}\n${line}` };
  }
  if (words(a.value).includes(token)) return { ok: true, changed: false, text };
  const { at, insert } = insertion(a, token);
  return { ok: true, changed: true, text: text.slice(0, at) + insert + text.slice(at) };
}

/**
 * A setting of the token a person made that an added bare token would fight with: `token=VALUE`
 * anywhere on the kernel line (GRUB_CMDLINE_LINUX, then GRUB_CMDLINE_LINUX_DEFAULT: the last
 * occurrence wins, kernel/params.c), or the token in _DEFAULT only (the recovery entries lack it).
 */
function conflictingSetting(text: string, a: Assignment | { missing: true }, token: string): string | undefined {
  const d = effectiveAssignment(text, `${NAME}_DEFAULT`);
  // _DEFAULT follows GRUB_CMDLINE_LINUX on the kernel line, so what it holds must be certain too.
  if ('unsupported' in d) return `talos-mac cannot be certain what ${NAME}_DEFAULT holds: ${d.unsupported}`;
  const linux = 'value' in a ? a.value : '';
  const linuxDefault = 'value' in d ? d.value : '';
  for (const [name, value] of [[NAME, linux], [`${NAME}_DEFAULT`, linuxDefault]] as const) {
    const set = words(value).find((w) => w.startsWith(`${token}=`));
    if (set) return `${name} holds "${set}", set by a person; talos-mac does not override it: make it plain ${token} in ${name} by hand`;
  }
  if (words(linuxDefault).includes(token) && !words(linux).includes(token)) {
    return `${NAME}_DEFAULT holds ${token}, which the recovery entries do not get: move it into ${NAME} by hand`;
  }
  return undefined;
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
