/** Exit statuses of every talos-mac command (README "Exit codes"). */
export const EXIT = {
  OK: 0,
  /** doctor found a failing check (or a warning with --strict); a command could not do its job. */
  FAILED: 1,
  /** bad flags, unknown names, invalid input files: nothing was changed. */
  USAGE: 2,
  /** setup did all it can before a reboot: reboot (into the entry it names), then run it again. */
  REBOOT_NEEDED: 3,
  /** a bug in talos-mac (EX_SOFTWARE): please report it with the message. */
  INTERNAL: 70,
  /** interrupted by Ctrl-C. */
  INTERRUPTED: 130,
} as const;
