/**
 * Text that came from a disc, a guest disk or a hand-edited file, made safe to show: every character
 * a terminal may act on is written out as an escape. That is C0 controls (ESC starts the escape
 * sequences that move the cursor, retitle the window or rewrite the screen; ECMA-48), DEL, C1
 * controls (U+009B is an 8-bit CSI to terminals that honour 8-bit controls) and Unicode's
 * bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what follows
 * on the line. The text stays readable: "Mac\x1b[2JHD" shows the bytes a person would want to see.
 */
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escapeOne = (c: string): string => {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
};

/** One name or value for people: every control character visible (a newline too: a name is one line). */
export function shown(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** A whole message that may hold such text: the same, but its own line breaks stay line breaks. */
export function shownLines(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escapeOne);
}

/**
 * A --json document: JSON.stringify escapes C0 controls in strings (ECMA-262 QuoteJSONString) but
 * leaves DEL, C1 controls and the bidirectional controls raw; they are written as \uXXXX here, which
 * every JSON reader turns back into the same string.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
