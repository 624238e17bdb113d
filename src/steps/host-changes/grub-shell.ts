/**
 * Reads a shell fragment such as /etc/default/grub the way bash parses it, far enough to say
 * which assignments run unconditionally at the top level. It does not evaluate anything: whatever
 * it cannot follow with certainty (a here-document, an unclosed quote, a compound command that is
 * never closed) is reported, and callers then refuse to edit. Grammar: bash(1), SHELL GRAMMAR and
 * QUOTING; metacharacters are space, tab, newline, | & ; ( ) < >.
 */

export interface ShellAssignment {
  name: string;
  /** Offset of the name's first character. */
  nameStart: number;
  /** Offsets of the value's shell word (just after `=`, and just past the word). */
  valueStart: number;
  valueEnd: number;
  /** 1-based line of the name. */
  line: number;
  /**
   * Runs unconditionally and persists: at the top level (no if/while/case/function/subshell/group),
   * after a newline or `;`, followed by a newline, `;` or the end, in a command of assignments only
   * (an optional leading `export`), no redirection, and `=` rather than `+=`.
   */
  plain: boolean;
}

export interface ShellScan {
  assignments: ShellAssignment[];
  /** [start, end) of each comment. */
  comments: Array<[number, number]>;
  /** Offsets of names after `export` without a value (`export NAME`): they change no value. */
  exported: number[];
  /** Why the fragment cannot be followed with certainty, if it cannot. */
  unsupported?: string;
}

const META = ' \t\n;&|()<>';
const OPENERS = new Set(['if', 'while', 'until', 'for', 'select', 'case', '{']);
const CLOSERS = new Set(['fi', 'done', 'esac', '}']);
/** Reserved words after which a new command starts on the same line. */
const LEADERS = new Set(['then', 'else', 'elif', 'do', '!', 'if', 'while', 'until', '{']);

export function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') n++;
  return n;
}

/**
 * Offset just past the quoting or expansion that starts at `i` ('…', $'…', "…", `…`, $(…), ${…}):
 * undefined when it never closes, -1 when none starts there.
 */
function skipConstruct(text: string, i: number): number | undefined {
  const c = text[i];
  if (c === "'" || (c === '$' && text[i + 1] === "'")) {
    const ansi = c === '$';
    let e = ansi ? i + 2 : i + 1;
    // $'…' honours backslash escapes; '…' does not.
    while (e < text.length && text[e] !== "'") e += ansi && text[e] === '\\' ? 2 : 1;
    return e >= text.length ? undefined : e + 1;
  }
  if (c === '"' || c === '`') return skipQuoted(text, i + 1, c);
  if (c === '$' && (text[i + 1] === '(' || text[i + 1] === '{')) return skipNested(text, i + 2, text[i + 1]!, text[i + 1] === '(' ? ')' : '}');
  return -1;
}

/** Offset just past the closing `close` (quotes honoured inside), or undefined when it never closes. */
function skipNested(text: string, i: number, open: string, close: string): number | undefined {
  let depth = 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    const e = skipConstruct(text, i);
    if (e === undefined) return undefined;
    if (e >= 0) {
      i = e;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  return undefined;
}

/** Offset just past the closing quote of a "…" or `…` that starts at `i` (after the opening quote). */
function skipQuoted(text: string, i: number, q: '"' | '`'): number | undefined {
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === q) return i + 1;
    else if (q === '"' && c === '`') {
      const e = skipQuoted(text, i + 1, '`');
      if (e === undefined) return undefined;
      i = e;
    } else if (q === '"' && c === '$' && (text[i + 1] === '(' || text[i + 1] === '{')) {
      const e = skipNested(text, i + 2, text[i + 1]!, text[i + 1] === '(' ? ')' : '}');
      if (e === undefined) return undefined;
      i = e;
    } else i++;
  }
  return undefined;
}

/** Offset just past the shell word that starts at `i`, or undefined when a quote never closes. */
export function wordEnd(text: string, i: number): number | undefined {
  while (i < text.length && !META.includes(text[i]!)) {
    if (text[i] === '\\') {
      i += 2;
      continue;
    }
    const e = skipConstruct(text, i);
    if (e === undefined) return undefined;
    i = e >= 0 ? e : i + 1;
  }
  return Math.min(i, text.length);
}

interface Word {
  start: number;
  end: number;
  redirect?: boolean;
}

export function scanShell(text: string): ShellScan {
  const assignments: ShellAssignment[] = [];
  const comments: Array<[number, number]> = [];
  const exported: number[] = [];
  const stack: string[] = [];
  let words: Word[] = [];
  let before = 'start';
  // A "then", "do" or "fi" with no open compound command: bash refuses the file, so no edit is certain.
  let stray: number | undefined;
  const fail = (why: string, at: number): ShellScan => ({ assignments, comments, exported, unsupported: `${why} at line ${lineAt(text, at)}` });

  const flush = (after: string): void => {
    let ws = words;
    words = [];
    const word = (w: Word) => text.slice(w.start, w.end);
    // Reserved words open and close compound commands, and may start a new command on the same line.
    while (ws.length > 0 && !ws[0]!.redirect && LEADERS.has(word(ws[0]!))) {
      const lead = ws.shift()!;
      const w = word(lead);
      if (OPENERS.has(w)) stack.push(w);
      else if (w !== '!' && stack.length === 0) stray ??= lead.start;
    }
    if (ws.length === 0) return;
    const first = word(ws[0]!);
    if (CLOSERS.has(first)) {
      if (stack.length === 0) stray ??= ws[0]!.start;
      stack.pop();
      return;
    }
    if (OPENERS.has(first)) {
      stack.push(first);
      return;
    }
    const body = first === 'export' ? ws.slice(1) : ws;
    const found: Array<Omit<ShellAssignment, 'plain'> & { append: boolean }> = [];
    let onlyAssignments = !ws.some((w) => w.redirect);
    for (const w of body) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=/.exec(word(w));
      if (!m) {
        if (first === 'export' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word(w))) exported.push(w.start);
        else onlyAssignments = false;
        continue;
      }
      const valueStart = w.start + m[0].length;
      found.push({ name: m[1]!, nameStart: w.start, valueStart, valueEnd: w.end, line: lineAt(text, w.start), append: m[2] === '+' });
    }
    const unconditional = stack.length === 0 && ['start', '\n', ';'].includes(before) && ['\n', ';', 'end'].includes(after);
    for (const { append, ...a } of found) assignments.push({ ...a, plain: unconditional && onlyAssignments && !append });
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
    } else if (c === '#') {
      const e = text.indexOf('\n', i);
      const end = e < 0 ? text.length : e;
      comments.push([i, end]);
      i = end;
    } else if ('\n;&|'.includes(c)) {
      const two = text.slice(i, i + 2);
      const op = ['&&', '||', ';;', '|&', ';&'].includes(two) ? two : c;
      flush(op);
      before = op;
      i += op.length;
    } else if (c === '(' || c === ')') {
      // "(" starts a subshell only at a command's start; after words it is `name()` or a syntax error.
      if (c === '(' && words.length > 0 && !(words.length === 1 && /^\(\s*\)/.test(text.slice(i)))) return fail('a "(" inside a command', i);
      flush(c);
      if (c === '(') stack.push('(');
      else if (stack[stack.length - 1] === '(') stack.pop();
      else if (stack[stack.length - 1] !== 'case') return fail('an unmatched ")"', i);
      before = c;
      i++;
    } else if (c === '<' || c === '>') {
      if (text.startsWith('<<', i) && !text.startsWith('<<<', i)) return fail('a here-document', i);
      const start = i;
      while (i < text.length && '<>&'.includes(text[i]!)) i++;
      while (text[i] === ' ' || text[i] === '\t') i++;
      const end = wordEnd(text, i);
      if (end === undefined) return fail('an unclosed quote', i);
      words.push({ start, end, redirect: true });
      i = Math.max(end, i + 1);
    } else {
      const end = wordEnd(text, i);
      if (end === undefined) return fail('an unclosed quote', i);
      words.push({ start: i, end });
      i = end;
    }
  }
  flush('end');
  if (stray !== undefined) return fail(`a stray ${JSON.stringify(text.slice(stray).split(/\s/)[0])} (bash would stop with a syntax error)`, stray);
  if (stack.length > 0) return { assignments, comments, exported, unsupported: `a compound command (${stack[stack.length - 1]}) that is never closed` };
  return { assignments, comments, exported };
}
