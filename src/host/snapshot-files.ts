import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { describeFileKind } from './file-kind.js';

/**
 * Reading a snapshot directory without ever leaving it. A snapshot holds plain files and
 * directories only: a symbolic link would make "the snapshot" any file on this machine, a FIFO
 * blocks the reader forever (no writer) and a device such as /dev/zero never ends. So every path
 * is walked one component at a time with lstat, nothing is opened that is not a regular file, and
 * the file opened is the one lstat saw (O_NOFOLLOW, O_NONBLOCK, then fstat).
 *
 * The calls are synchronous: a snapshot is a few dozen small local files, and each promise call
 * is a round trip through libuv's thread pool (a file read through the promise API is seven),
 * which was a third of `doctor --snapshot`'s own time (npm run bench).
 */

const q = JSON.stringify;

export function invalidSnapshot(root: string, problem: string): UserError {
  return new UserError(`${q(root)} is not a valid host snapshot: ${problem} (see docs/host-snapshot.md; nothing outside the snapshot was read).`);
}

type Kind = Parameters<typeof describeFileKind>[0];

function refuseEntry(root: string, rel: string, s: Kind): never {
  let what = describeFileKind(s);
  if (s.isSymbolicLink()) {
    const target = attempt(() => readlinkSync(join(root, rel)));
    if (target !== undefined) what += ` (to ${q(target)})`;
  }
  throw invalidSnapshot(root, `${q(rel)} is ${what}; a snapshot holds plain files and directories only`);
}

const LIMIT = 100_000;

/** fn's result, or undefined where it throws (a path that went away, a permission). */
function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Every entry under root is a plain file or a directory (readdir never follows a link). */
export function checkTree(root: string): void {
  const pending = [''];
  let seen = 0;
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch (err) {
      throw invalidSnapshot(root, `cannot list ${q(rel || '.')}: ${(err as Error).message}`);
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (++seen > LIMIT) throw invalidSnapshot(root, `it holds more than ${LIMIT} entries`);
      if (e.isDirectory()) pending.push(child);
      else if (!e.isFile()) refuseEntry(root, child, e);
    }
  }
}

/** lstat of root/rel, refusing a link or special file at any component; undefined when absent. */
export function statInside(root: string, rel: string): Stats | undefined {
  let s = lstatSync(root);
  const parts = rel.split('/').filter((p) => p !== '');
  for (let i = 0; i < parts.length; i++) {
    if (!s.isDirectory()) return undefined;
    const sub = parts.slice(0, i + 1).join('/');
    const next = attempt(() => lstatSync(join(root, sub)));
    if (next === undefined) return undefined;
    s = next;
    if (!s.isFile() && !s.isDirectory()) refuseEntry(root, sub, s);
  }
  return s;
}

/** The bytes of the regular file root/rel; undefined when there is none (absent, or a directory). */
export function readInside(root: string, rel: string): Buffer | undefined {
  const seen = statInside(root, rel);
  if (!seen?.isFile()) return undefined;
  const fd = attempt(() => openSync(join(root, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY));
  if (fd === undefined) return undefined;
  try {
    const s = fstatSync(fd);
    // Replaced between the lstat and the open: refuse rather than read whatever it is now.
    if (!s.isFile() || s.ino !== seen.ino || s.dev !== seen.dev) throw invalidSnapshot(root, `${q(rel)} changed while it was being read`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The names in the directory root/rel; undefined when there is none. */
export function listInside(root: string, rel: string): string[] | undefined {
  const s = statInside(root, rel);
  if (!s?.isDirectory()) return undefined;
  return attempt(() => readdirSync(join(root, rel)));
}
