/**
 * What talos-mac's runner puts before a command that changes the machine when these tests run
 * (src/privileged/runner.ts, withSudo): nothing as root (CI), `sudo -n -- ` for a user with sudo
 * (a newcomer's `npm test`), `sudo -- ` when the CLI runs on a terminal and may ask for a password.
 */
export const isRoot = process.getuid?.() === 0;

export function sudoPrefix(interactive = false): string {
  if (isRoot) return '';
  return interactive ? 'sudo -- ' : 'sudo -n -- ';
}

/** The prefix as non-interactive setup prints it (`--yes`, `--dry-run`, no terminal). */
export const SUDO = sudoPrefix();

/** SUDO escaped for a RegExp source: new RegExp(`would: \\$ ${SUDO_RE}update-grub`). */
export const SUDO_RE = reSource(SUDO);

/** The interactive prefix escaped for a RegExp source (the wizard on a terminal). */
export const SUDO_TTY_RE = reSource(sudoPrefix(true));

function reSource(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
