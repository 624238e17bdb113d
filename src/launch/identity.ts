import { readdirSync, readFileSync } from 'node:fs';
import { isErrno } from '../guests/files.js';

/**
 * A process as talos-mac knows it: its pid and its start time. A pid alone names whichever process
 * the kernel gave that number last; the pair names one process for as long as it lives (the pid
 * cannot be reused while it exists) and never a later one (proc(5): /proc/PID/stat field 22,
 * starttime, "the time the process started after system boot", in clock ticks).
 */
export interface ProcessId {
  readonly pid: number;
  readonly start: string;
}

/** /proc/PID/stat after the comm field (which may hold spaces and parentheses): state is field 3. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The live (not zombie) process `pid` now is, or undefined. */
export function processId(pid: number): ProcessId | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const f = statFields(pid);
  // f[0] is field 3 (state); starttime is field 22, f[19].
  if (!f || f[0] === 'Z' || f[0] === 'X' || f[19] === undefined) return undefined;
  return { pid, start: f[19] };
}

/** Whether the very process `p` names still runs (false once it exited, even if its pid was reused). */
export function stillRuns(p: ProcessId): boolean {
  return processId(p.pid)?.start === p.start;
}

/** The parent pid of a live process (field 4). */
export function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
}

/** dev_t as /proc/locks prints it: MAJOR:MINOR in hex (glibc's major()/minor() encoding). */
export function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * Whether `pid` itself holds an flock on the file `id` ("MAJ:MIN:INODE"): /proc/PID/fdinfo/FD lists
 * the locks held through that descriptor's open file ("lock:" lines, proc(5), fs/locks.c
 * show_fd_locks). /proc/locks alone does not say: it shows the pid that took a lock even after that
 * process died and a child that inherited the descriptor holds it (seen here: `flock FILE sleep`
 * with flock killed), and that pid may by then be another program's.
 */
export function holdsFlock(pid: number, id: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      return false;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('lock:')) continue;
      const f = line.slice(5).trim().split(/\s+/);
      if (f[1] === 'FLOCK' && f[5] === id) return true;
    }
  }
  return false;
}

/**
 * Sends `signal` to `p` only if it is still that process: the check and the kill are a few
 * microseconds apart, and a pid is reused only after the process is gone and the kernel has handed
 * out the other numbers in between (pid_max, 32768 or more). Returns false when `p` is gone.
 */
export function signalProcess(p: ProcessId, signal: NodeJS.Signals, stillIt: (p: ProcessId) => boolean = stillRuns): boolean {
  if (!stillIt(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return false;
    throw err;
  }
}
