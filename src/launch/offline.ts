import { UserError } from '../errors.js';
import type { Guest } from '../guests/definition.js';
import type { GuestPaths } from '../guests/paths.js';
import type { Host } from '../host/host.js';
import { guestLockFile, holdLock, lockHolder, type HeldLock } from './guest-lock.js';
import { describeOutside, findRunning } from './running.js';

/**
 * Runs `fn` while the guest is off and stays off: refused while any QEMU runs it (started by
 * talos-mac or by hand), and the guest lock is held meanwhile, so a launch started during `fn`
 * is refused by flock before any QEMU opens the disk.
 */
export async function whileGuestOff<T>(host: Host, paths: GuestPaths, g: Guest, what: string, fn: () => Promise<T>): Promise<T> {
  const refuse = async (): Promise<never> => {
    const running = await findRunning(host, paths, g);
    if (running?.by === 'outside') throw new UserError(`cannot ${what}: ${describeOutside(running, g.disk)}. Shut that guest down first. Nothing was changed.`, 1);
    const pid = running?.pid ?? (await lockHolder(guestLockFile(paths, g.name)));
    throw new UserError(
      `cannot ${what}: ${g.name} is running${pid !== undefined ? ` (pid ${pid})` : ''}. Shut Mac OS down inside the guest (or talos-mac stop ${g.name}), then try again. Nothing was changed.`,
      1,
    );
  };
  if (await findRunning(host, paths, g)) await refuse();
  const lock = await holdLock(guestLockFile(paths, g.name));
  if ('conflict' in lock) await refuse();
  if ('missing' in lock) throw new UserError(`cannot ${what}: ${lock.missing}. Install util-linux (it has flock).`, 1);
  const { held } = lock as { held: HeldLock };
  try {
    // A QEMU started by hand between the first look and the lock (the lock holder now is us).
    const now = await findRunning(host, paths, g);
    if (now && !(now.by === 'talos-mac' && now.pid === held.pid)) await refuse();
    return await fn();
  } finally {
    await held.release();
  }
}
