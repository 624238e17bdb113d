/**
 * Temporary folders named after the run that owns them — `.talos-mac-volume-PID-START-XXXXXX`,
 * START being the process's start time in clock ticks since boot (proc(5), /proc/PID/stat field
 * 22) — so a later run removes what a killed run left, and never a live run's folder: a pid reused
 * by another process has another start time.
 */
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = '.talos-mac-volume-';

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields after it are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A new private folder in `parent`, named for this run. */
export function makeRunTempDir(parent: string): Promise<string> {
  return mkdtemp(join(parent, `${PREFIX}${process.pid}-${processStartTime(process.pid) ?? '0'}-`));
}

/** Removes this user's folders in `parent` left by runs that are no longer alive; returns their names. */
export async function removeLeftovers(parent: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const m = new RegExp(`^${PREFIX.replaceAll('.', '\\.')}(\\d+)-(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
    if (!m) continue;
    if (processStartTime(Number(m[1])) === m[2]) continue;
    const p = join(parent, name);
    const st = await lstat(p).catch(() => undefined);
    // Only a real folder of this user: never through a link, never someone else's.
    if (!st?.isDirectory() || st.uid !== process.getuid?.()) continue;
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  }
  return removed;
}
