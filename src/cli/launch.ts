import { UserError } from '../errors.js';
import { GuestStore } from '../guests/store.js';
import type { AccelRequest } from '../launch/accel.js';
import { launchCommand } from '../launch/launch.js';
import type { Display } from '../guests/argv.js';
import { parseVnc, type VncRequest } from '../launch/vnc.js';
import type { Host } from '../host/host.js';
import { openHost, thisMachineForQemu } from '../host/open.js';
import { guestPaths } from '../guests/paths.js';

export interface LaunchFlags {
  accel: string;
  install?: boolean;
  force?: boolean;
  /** Unset: the guest's `display`, else auto. */
  display?: string;
  printCmd?: boolean;
  json?: boolean;
  detach?: boolean;
  paused?: boolean;
  sound?: boolean;
  timeout?: string;
  snapshot?: string;
  hostSnapshot?: string;
  checkpoint?: boolean;
}

/** One name for one flag: --host-snapshot was launch's and demo's name for doctor's --snapshot. */
export function snapshotFlag(f: { snapshot?: string | undefined; hostSnapshot?: string | undefined }): string | undefined {
  if (f.hostSnapshot !== undefined && f.snapshot !== undefined) throw new UserError('--host-snapshot is the old name of --snapshot: give only --snapshot');
  if (f.hostSnapshot !== undefined) process.stderr.write('talos-mac: --host-snapshot is now --snapshot (the old name goes away in 0.3)\n');
  return f.snapshot ?? f.hostSnapshot;
}

/** --snapshot DIR: QEMU's checks and the KVM decision read that captured host instead of this machine. */
export async function checkedHost(f: { snapshot?: string | undefined; hostSnapshot?: string | undefined }): Promise<Host | undefined> {
  const snapshot = snapshotFlag(f);
  return snapshot === undefined ? undefined : openHost({ snapshot });
}

/** `--display auto|window|vnc[=HOST:N]|serial|none`. */
export function parseDisplay(v: string): { display: Display | 'auto'; vnc?: VncRequest } {
  if (v === 'auto' || v === 'window' || v === 'serial' || v === 'none') return { display: v };
  if (v === 'vnc' || v.startsWith('vnc=')) return { display: 'vnc', vnc: parseVnc(v === 'vnc' ? undefined : v.slice(4)) };
  throw new UserError(`--display must be auto, window, vnc[=HOST:N], serial or none (got ${JSON.stringify(v)})`);
}

export function parseAccel(v: string): AccelRequest {
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new UserError(`--accel must be auto, kvm or tcg (got ${JSON.stringify(v)})`);
}

export function parseSeconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} must be a positive number of seconds (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * The raw QEMU words: only what follows a literal `--`. Commander gathers every operand after the
 * name into [qemu-args...]; one before `--` (a typo, a stray file name) would reach QEMU, which
 * could open it read-write as a disk image. That is a usage error.
 */
export function qemuWords(rawArgs: readonly string[], operands: readonly string[]): string[] {
  const dd = rawArgs.indexOf('--');
  const after = dd >= 0 ? rawArgs.length - dd - 1 : 0;
  const before = operands.length - after;
  if (before > 0) {
    const stray = operands.slice(0, before).map((w) => JSON.stringify(w)).join(' ');
    throw new UserError(`unexpected argument${before > 1 ? 's' : ''} ${stray}: launch takes one guest name; extra QEMU arguments go after --, e.g. talos-mac launch NAME -- -d guest_errors`);
  }
  if (before < 0) throw new UserError('the guest name goes before --: talos-mac launch NAME -- QEMU-ARGS');
  return operands.slice(before);
}

export async function launchCli(name: string, extra: string[], f: LaunchFlags): Promise<number> {
  const { display, vnc } = parseDisplay(f.display ?? (await new GuestStore().read(name)).display ?? 'auto');
  if (f.json && !f.printCmd) throw new UserError('--json goes with --print-cmd');
  const timeout = parseSeconds(f.timeout, '--timeout');
  if (timeout !== undefined && f.detach) throw new UserError('--timeout applies to a launch that waits for QEMU; it cannot be combined with --detach');
  return launchCommand(name, {
    accel: parseAccel(f.accel),
    install: f.install ?? false,
    force: f.force ?? false,
    display,
    vnc,
    paused: f.paused ?? false,
    sound: f.sound ?? false,
    detach: f.detach ?? false,
    extra,
    checked: await checkedHost(f),
    printCmd: f.printCmd ?? false,
    json: f.json ?? false,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    checkpoint: f.checkpoint,
  }, thisMachineForQemu(guestPaths().cache));
}
