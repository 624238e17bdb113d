import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Linux's limit on symbolic links followed in one lookup (MAXSYMLINKS, include/linux/namei.h). */
const MAX_LINKS = 40;

/**
 * Where an absolute host path lives inside `dir` (a snapshot or a `--root`), resolved as if `dir`
 * were `/` — the semantics of a chroot, or openat2(2) RESOLVE_IN_ROOT: every symbolic link on the
 * way is followed inside `dir`, an absolute target starts again at `dir`, and ".." stops at `dir`.
 * A link to "/" or "/etc" or "../../../x" therefore never leads out. A link as the last component
 * is followed too, so writers replace the file it names and the link stays a link. Components that
 * do not exist (yet) are taken as they are. Throws an ELOOP error for a link loop.
 */
export function pathInSnapshot(dir: string, hostPath: string): string {
  if (!hostPath.startsWith('/')) throw new Error(`snapshot paths must be absolute: ${hostPath}`);
  const todo = hostPath.split('/');
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (!missing) {
      const here = join(dir, ...done, part);
      let isLink = false;
      try {
        isLink = lstatSync(here).isSymbolicLink();
      } catch {
        missing = true;
      }
      if (isLink) {
        if (++links > MAX_LINKS) throw Object.assign(new Error(`${hostPath} (inside ${dir}): too many levels of symbolic links`), { code: 'ELOOP' });
        const target = readlinkSync(here);
        if (target.startsWith('/')) done.length = 0;
        todo.unshift(...target.split('/'));
        continue;
      }
    }
    done.push(part);
  }
  return join(dir, ...done);
}
