import { readFileSync } from 'node:fs';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { isErrno, writeNewFile } from '../guests/files.js';
import { guestRuntimeDir, shortRuntimeRoot, SOCKET_PATH_MAX, type GuestPaths } from '../guests/paths.js';
import { lockHolder, whileLocked } from './guest-lock.js';
import { processId, stillRuns, type ProcessId } from './identity.js';

export interface RuntimeFiles {
  dir: string;
  /** QMP for talos-mac status/stop. */
  control: string;
  /** QMP the foreground launcher listens on (QEMU serves one client per socket). */
  events: string;
  pid: string;
}

export function runtimeFiles(paths: GuestPaths, name: string): RuntimeFiles {
  const dir = guestRuntimeDir(paths, name);
  return { dir, control: join(dir, 'qmp.sock'), events: join(dir, 'events.sock'), pid: join(dir, 'qemu.pid') };
}

export async function prepareRuntimeDir(f: RuntimeFiles): Promise<void> {
  const root = shortRuntimeRoot();
  if (dirname(f.dir) === root) {
    // In /tmp anyone could have made it first: it must be a real folder of ours that nobody else can enter.
    await mkdir(root, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const st = await lstat(root);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
      throw new UserError(`${root} (the short folder for QMP sockets, whose paths must stay within ${SOCKET_PATH_MAX} bytes) is not a private folder of yours (${st.isSymbolicLink() ? 'a symlink' : !st.isDirectory() ? 'not a folder' : st.uid !== process.getuid?.() ? `owned by uid ${st.uid}` : `mode ${(st.mode & 0o777).toString(8)}`}). Remove it, or set XDG_RUNTIME_DIR to a short private folder. Nothing was started.`, 1);
    }
  }
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
}

/** A process that exists and has not exited (a zombie nobody reaped yet counts as exited). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
  try {
    // /proc/PID/stat: "pid (comm) S …"; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * This guest's QEMU when one is running: the process holding the guest lock, else (a QEMU started
 * from a pasted --print-cmd) the pid file's process if its command line names that pid file. Never
 * a process that only has the number a dead one had.
 */
export async function runningPid(f: RuntimeFiles, lock?: string): Promise<ProcessId | undefined> {
  const holder = lock !== undefined ? await lockHolder(lock) : undefined;
  if (holder !== undefined) return holder;
  let pid: number;
  try {
    pid = Number((await readFile(f.pid, 'utf8')).trim());
  } catch {
    return undefined;
  }
  const p = processId(pid);
  return p !== undefined && (await namesPidFile(p, f.pid)) ? p : undefined;
}

/** QEMU run from a printed command has `-pidfile PATH` on its command line: a recycled pid's program does not. */
async function namesPidFile(p: ProcessId, pidFile: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${p.pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline !== undefined && cmdline.split('\0').includes(pidFile) && stillRuns(p);
}

/**
 * Whether `p`, found as this guest's QEMU, still is it: the same process (pid and start time), still
 * holding the guest lock or naming the pid file. Asked again just before a signal is sent.
 */
export async function stillTheGuest(p: ProcessId, f: RuntimeFiles, lock: string): Promise<boolean> {
  const holder = await lockHolder(lock);
  if (holder !== undefined) return holder.pid === p.pid && holder.start === p.start;
  return namesPidFile(p, f.pid);
}

/**
 * Removes what a QEMU killed without its own clean-up left behind, only while holding the guest
 * lock: a newer QEMU's pid file and sockets are never touched.
 */
export async function clearRuntime(f: RuntimeFiles, lock: string): Promise<boolean> {
  return whileLocked(lock, ['rm', '-f', '--', f.pid, f.control, f.events]);
}

/** True the first time it is asked for `key` in this state dir (remembers it). */
export async function firstTime(paths: GuestPaths, key: string): Promise<boolean> {
  try {
    await writeNewFile(join(paths.state, `${key}.shown`), `${new Date().toISOString()}\n`);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}
