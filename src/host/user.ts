import { userInfo } from 'node:os';

/**
 * The login name of the user running talos-mac. os.userInfo() throws when the uid has no passwd
 * entry (a minimal root, a container): then $USER, else root for uid 0, else the uid itself.
 */
export function currentUserName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return userInfo().username;
  } catch {
    const uid = process.getuid?.();
    return env['USER'] || (uid === 0 ? 'root' : String(uid ?? 'unknown'));
  }
}
