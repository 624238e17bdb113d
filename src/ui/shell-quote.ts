import { UNSAFE } from './escape.js';

/**
 * One argument as a POSIX shell reads it back: bare when safe, '…' otherwise, and $'…' (bash,
 * zsh, ksh) when it holds control characters such as the newline in OpenBIOS's boot-command.
 * Only for showing commands to people: talos-mac itself always runs argv arrays.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  if (new RegExp(UNSAFE.source).test(arg)) {
    // $'…' reads \xHH as one byte. C1 and bidi controls are written as their UTF-8 bytes: bash's \uHHHH
    // follows the locale, and under C (a fresh root's login shell has no LANG) it stays literal text.
    const bytes = (c: string): string => [...Buffer.from(c, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    const body = arg.replace(/[\\']/g, (c) => `\\${c}`).replace(UNSAFE, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : bytes(c)));
    return `$'${body}'`;
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argv as a line a person can paste into a shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
