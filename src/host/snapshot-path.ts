import { posix, join } from 'node:path';

/** Where an absolute host path lives inside a snapshot directory; refuses paths that escape it. */
export function pathInSnapshot(dir: string, hostPath: string): string {
  if (!hostPath.startsWith('/')) throw new Error(`snapshot paths must be absolute: ${hostPath}`);
  const normal = posix.normalize(hostPath);
  if (normal.split('/').includes('..')) throw new Error(`snapshot path escapes the snapshot: ${hostPath}`);
  return join(dir, normal);
}
