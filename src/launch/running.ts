import { readdir, readlink, realpath } from 'node:fs/promises';
import type { Host } from '../host/host.js';
import { statProblem } from '../host/file-kind.js';
import { diskInUse } from '../guests/disk.js';
import type { GuestPaths } from '../guests/paths.js';
import { guestLockFile } from './guest-lock.js';
import { runningPid, runtimeFiles } from './state.js';

export type Running =
  /** Started by talos-mac (holds the guest lock) or from its --print-cmd (its pid file): pid and start time (identity.ts). */
  | { by: 'talos-mac'; pid: number; start: string }
  /** Some QEMU talos-mac did not start has the guest's disk open (its disk lock says so). */
  | { by: 'outside'; pids: number[] };

/** Processes that have `path` open (/proc/PID/fd): only those this user may look at. */
export async function processesWithOpen(path: string): Promise<number[]> {
  const target = await realpath(path).catch(() => path);
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => []);
    for (const fd of fds) {
      if ((await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')) === target) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/** Whether any QEMU runs this guest, however it was started. */
export async function findRunning(host: Host, paths: GuestPaths, g: { name: string; disk?: string | undefined; disk_format?: string | undefined }): Promise<Running | undefined> {
  const p = await runningPid(runtimeFiles(paths, g.name), guestLockFile(paths, g.name));
  if (p !== undefined) return { by: 'talos-mac', pid: p.pid, start: p.start };
  // qemu-img info opens the disk (not its backing files): never a FIFO or a device (file-kind.ts).
  if (g.disk === undefined || (await statProblem(g.disk)) !== undefined || (await diskInUse(host, g.disk, g.disk_format ?? 'raw')) !== true) return undefined;
  return { by: 'outside', pids: await processesWithOpen(g.disk) };
}

export function describeOutside(r: { pids: number[] }, disk: string): string {
  const who = r.pids.length ? `pid ${r.pids.join(', ')}` : 'a process this user cannot see';
  return `its disk ${JSON.stringify(disk)} is in use by a QEMU talos-mac did not start (${who})`;
}
