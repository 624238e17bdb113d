import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GuestPaths } from '../guests/paths.js';
import { devString, holdsFlock, processId, stillRuns, type ProcessId } from './identity.js';

/**
 * One guest, at most one QEMU: QEMU runs under `flock --no-fork` on a lock file that is never
 * deleted, so QEMU itself holds the lock and the kernel drops it when QEMU dies (flock(1),
 * util-linux 2.38: "-F, --no-fork … the flock process is replaced by command which continues to
 * hold the lock"). A second launch gets LOCK_CONFLICT from flock before any QEMU starts.
 */
export const LOCK_CONFLICT = 75;

/** Beside the state dir, not in the runtime folder that is cleared after a run. */
export const guestLockFile = (paths: GuestPaths, name: string): string => join(paths.state, 'locks', `${name}.lock`);

export async function prepareLockDir(lock: string): Promise<void> {
  await mkdir(dirname(lock), { recursive: true, mode: 0o700 });
}

/** The argv that runs `argv` holding `lock`, or exits LOCK_CONFLICT without running it. */
export function underLock(lock: string, argv: readonly string[]): string[] {
  return ['flock', '--nonblock', '--conflict-exit-code', String(LOCK_CONFLICT), '--no-fork', lock, ...argv];
}

/** The "MAJ:MIN:INODE" /proc/locks names `lock` by, or undefined when it does not exist. */
async function lockId(lock: string): Promise<string | undefined> {
  const st = await stat(lock).catch(() => undefined);
  return st ? `${devString(st.dev)}:${st.ino}` : undefined;
}

/** The pids /proc/locks gives for flocks on `id`: whoever took each lock, alive or not (proc(5)). */
async function flockTakers(id: string): Promise<number[]> {
  const text = await readFile('/proc/locks', 'utf8').catch(() => '');
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 20708 fe:00:2146323 0 EOF"; waiters are "1: -> FLOCK …".
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[5] !== id) continue;
    const pid = Number(f[4]);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/**
 * The process holding an flock on `lock` itself, as QEMU under `flock --no-fork` does: the pid
 * /proc/locks names, confirmed to hold the lock now (identity.ts holdsFlock) — never a process that
 * merely got that pid after the one that took the lock died (a `holdLock` helper, a dead QEMU whose
 * child inherited the descriptor). Asking never takes the lock, so it cannot make a launch starting
 * at that moment fail.
 */
export async function lockHolder(lock: string): Promise<ProcessId | undefined> {
  const id = await lockId(lock);
  if (id === undefined) return undefined;
  for (const pid of await flockTakers(id)) {
    const p = processId(pid);
    if (p && holdsFlock(pid, id) && stillRuns(p)) return p;
  }
  return undefined;
}

/** The pids /proc/locks names for `lock`'s flocks: who took them, whether or not they still run. */
export async function lockTakers(lock: string): Promise<number[]> {
  const id = await lockId(lock);
  return id === undefined ? [] : flockTakers(id);
}

/** Runs `argv` only while holding `lock` (true), or does nothing because someone holds it (false). */
export function whileLocked(lock: string, argv: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const [file, ...args] = underLock(lock, argv) as [string, ...string[]];
    execFile(file, args, (error) => resolve(!error));
  });
}

/**
 * The launch lock, beside the guest lock: held by a talos-mac launch from before its QEMU starts
 * until it is done with the guest. A foreground launch keeps it across the restarts after a guest
 * reset, so between one QEMU's end and the next one's start (when nobody holds the guest lock) no
 * other launch can take the guest.
 *
 * Names that no guest name reaches: a guest lock is `NAME.lock`, a launch lock `NAME.launch`, so the
 * two sets never meet (one ends in ".lock", the other never does) and within each set the name
 * gives the guest back (names.ts: no "/"). Earlier versions named the launch lock `NAME.launch.lock`, which is
 * guest `NAME.launch`'s guest lock. The guest lock kept its name, so a QEMU an older talos-mac
 * started is still found by its lock after an upgrade.
 */
export const launchLockFile = (guestLock: string): string => guestLock.replace(/\.lock$/, '') + '.launch';

export interface HeldLock {
  /** The descriptor whose open file description holds the lock: a child given it holds it too. */
  fd: number;
  release(): void;
}

/**
 * Takes `file` for this process, or undefined if someone holds it. flock(1) locks a descriptor it
 * inherits from us ("flock [options] number", util-linux); the lock belongs to that open file
 * description (flock(2)), so it lasts until we close it or this process ends, however it ends.
 * node opens files close-on-exec, so QEMU never inherits it.
 */
export async function holdLock(file: string): Promise<HeldLock | undefined> {
  const fd = openSync(file, 'a', 0o600);
  const ok = await new Promise<boolean>((resolve) => {
    const c = spawn('flock', ['--nonblock', '--conflict-exit-code', String(LOCK_CONFLICT), '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    c.once('error', () => resolve(false));
    c.once('close', (code) => resolve(code === 0));
  });
  if (!ok) {
    closeSync(fd);
    return undefined;
  }
  let open = true;
  return {
    fd,
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
