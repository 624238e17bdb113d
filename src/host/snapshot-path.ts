import { posix, join } from 'node:path';

/** Where an absolute host path lives inside a snapshot directory. Normalising an absolute path
 * resolves every "..", so "/../etc/shadow" stays inside the snapshot as "etc/shadow". */
export function pathInSnapshot(dir: string, hostPath: string): string {
  if (!hostPath.startsWith('/')) throw new Error(`snapshot paths must be absolute: ${hostPath}`);
  return join(dir, posix.normalize(hostPath));
}
