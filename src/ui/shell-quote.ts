import { UNSAFE } from './escape.js';

/**
 * One argument as a POSIX shell reads it back: bare when safe, '…' otherwise, and $'…' (bash,
 * zsh, ksh) when it holds control characters such as the newline in OpenBIOS's boot-command.
 * Only for showing commands to people: talos-mac itself always runs argv arrays.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  if (new RegExp(UNSAFE.source).test(arg)) {
    // $'…' reads \xHH as one byte and \uHHHH as a character (bash 4.2+): C1 and bidi controls take the second.
    const hex = (c: string, n: number): string => c.charCodeAt(0).toString(16).padStart(n, '0');
    const body = arg.replace(/[\\']/g, (c) => `\\${c}`).replace(UNSAFE, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c.charCodeAt(0) < 0x80 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
    return `$'${body}'`;
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argv as a line a person can paste into a shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
