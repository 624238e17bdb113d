/** Exit statuses of every talos-mac command (README "Exit codes"; `talos-mac --help`). */
export const EXIT = {
  OK: 0,
  /** It could not be done now: a check failed, a tool failed, or the state of the guest or host refuses (see WHEN). */
  FAILED: 1,
  /** The command as typed cannot succeed: bad flags, unknown names, invalid input files. Nothing was changed. */
  USAGE: 2,
  /** setup did all it can before a reboot: reboot (into the entry it names), then run it again. */
  REBOOT_NEEDED: 3,
  /** a bug in talos-mac (EX_SOFTWARE): please report it with the message. */
  INTERNAL: 70,
  /** interrupted by Ctrl-C. */
  INTERRUPTED: 130,
} as const;

/**
 * One condition, one code, in every command. The rule: 2 when the words typed can never work
 * (fix the command); 1 when they could work at another time or on another host (the state of the
 * guest or the host said no, or something failed).
 */
export const WHEN = {
  /** launch, rm, checkpoint, files, share --refresh … while the guest runs. */
  guestRunning: EXIT.FAILED,
  /** stop, kill, screenshot of a guest that is not running. */
  guestNotRunning: EXIT.FAILED,
  /** This host cannot do what was asked: --accel kvm without KVM-PR, --display window without a desktop. */
  hostCannot: EXIT.FAILED,
  /** The request contradicts itself or the guest's definition: --accel kvm with a CPU KVM-PR never runs. */
  usage: EXIT.USAGE,
} as const;

export type ExitMeaning = keyof typeof EXIT;

/** The table as documented (README "Exit codes", `talos-mac --help`, the man page). */
export const EXIT_TABLE: ReadonlyArray<{ code: number; name: ExitMeaning; meaning: string }> = [
  { code: EXIT.OK, name: 'OK', meaning: 'done (doctor: no check failed; status: the guest runs; media check: a Mac boot disc)' },
  {
    code: EXIT.FAILED,
    name: 'FAILED',
    meaning:
      'not done now: a check failed, a tool or QEMU failed, or the state refused it: the guest is running (launch, rm, checkpoint, files) or not running (stop, kill, screenshot, status), this host cannot (--accel kvm without KVM-PR, --display window without a desktop)',
  },
  {
    code: EXIT.USAGE,
    name: 'USAGE',
    meaning: 'the command as typed cannot work: an unknown option, command, guest, OS, check or file, a value out of range, an invalid definition or snapshot; nothing was changed',
  },
  { code: EXIT.REBOOT_NEEDED, name: 'REBOOT_NEEDED', meaning: 'setup: all that can be done before a reboot is done; reboot, then run setup again' },
  { code: EXIT.INTERNAL, name: 'INTERNAL', meaning: 'a bug in talos-mac: please report it with the message' },
  { code: EXIT.INTERRUPTED, name: 'INTERRUPTED', meaning: 'interrupted (Ctrl-C)' },
];
