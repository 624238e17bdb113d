import { execFile } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GuestPaths } from '../guests/paths.js';

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

/** dev_t as /proc/locks prints it: MAJOR:MINOR in hex (glibc's major()/minor() encoding). */
function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * The pid holding an flock on `lock`, read from /proc/locks (proc(5)): asking never takes the
 * lock, so it cannot make a launch starting at that moment fail.
 */
export async function lockHolder(lock: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(lock);
  } catch {
    return undefined;
  }
  const id = `${devString(st.dev)}:${st.ino}`;
  const text = await readFile('/proc/locks', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 20708 fe:00:2146323 0 EOF"; waiters are "1: -> FLOCK …".
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[5] !== id) continue;
    const pid = Number(f[4]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

/** Runs `argv` only while holding `lock` (true), or does nothing because someone holds it (false). */
export function whileLocked(lock: string, argv: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const [file, ...args] = underLock(lock, argv) as [string, ...string[]];
    execFile(file, args, (error) => resolve(!error));
  });
}

export type HeldLock = { readonly pid: number; release(): Promise<void> };

/**
 * Holds `lock` for as long as this process wants it, or reports who has it: flock --no-fork execs
 * `cat`, which holds the lock until its standard input closes — when we release it, or when this
 * process dies (the kernel closes the pipe), so a crash never leaves a guest locked.
 */
export async function holdLock(lock: string, timeoutMs = 10_000): Promise<{ held: HeldLock } | { conflict: true } | { missing: string }> {
  await prepareLockDir(lock);
  const { spawn } = await import('node:child_process');
  const [file, ...args] = underLock(lock, ['cat']) as [string, ...string[]];
  const sub = spawn(file, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  let exit: { code: number | null; error?: Error } | undefined;
  const ended = new Promise<void>((resolve) => {
    sub.once('error', (error) => {
      exit = { code: null, error };
      resolve();
    });
    sub.once('close', (code) => {
      exit ??= { code };
      resolve();
    });
  });
  const end = Date.now() + timeoutMs;
  while (exit === undefined && Date.now() < end) {
    if (sub.pid !== undefined && (await lockHolder(lock)) === sub.pid) {
      const release = async (): Promise<void> => {
        sub.stdin?.end();
        await ended;
      };
      return { held: { pid: sub.pid, release } };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (exit === undefined) {
    sub.kill('SIGKILL');
    await ended;
    return { conflict: true };
  }
  if (exit.code === LOCK_CONFLICT) return { conflict: true };
  return { missing: exit.error ? `flock (util-linux) could not be run: ${exit.error.message}` : `flock exited with status ${exit.code}` };
}
