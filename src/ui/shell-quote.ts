/**
 * One argument as a POSIX shell reads it back: bare when safe, '…' otherwise, and $'…' (bash,
 * zsh, ksh) when it holds control characters such as the newline in OpenBIOS's boot-command.
 * Only for showing commands to people: talos-mac itself always runs argv arrays.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  if (/[\x00-\x1f\x7f]/.test(arg)) {
    const body = arg.replace(/[\\']/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
    return `$'${body}'`;
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argv as a line a person can paste into a shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
