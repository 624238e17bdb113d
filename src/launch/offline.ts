import { UserError } from '../errors.js';
import type { Guest } from '../guests/definition.js';
import type { GuestPaths } from '../guests/paths.js';
import type { Host } from '../host/host.js';
import { refuseUnsafeImage } from '../host/file-kind.js';
import { guestLockFile, holdLock, launchLockFile, lockHolder, prepareLockDir, type HeldLock } from './guest-lock.js';
import { describeOutside, findRunning } from './running.js';

/**
 * Runs `fn` while the guest is off and stays off: refused while any QEMU runs it (started by
 * talos-mac or by hand) or a launch holds it (between a guest reset and the restarted QEMU nobody
 * holds the guest lock, but the launcher holds the launch lock). Both locks are held meanwhile, so
 * a launch started during `fn` is refused before any QEMU opens the disk. A disk (or a backing file
 * of it) that is a FIFO or a device is refused first (file-kind.ts imageProblem).
 */
export async function whileGuestOff<T>(host: Host, paths: GuestPaths, g: Guest, what: string, fn: () => Promise<T>): Promise<T> {
  // Every command run here opens the disk (qemu-img, 7-Zip): never one that would block.
  await refuseUnsafeImage(`cannot ${what}: the disk of ${g.name}`, g.disk, { host, format: g.disk_format });
  const refuse = async (): Promise<never> => {
    const running = await findRunning(host, paths, g);
    if (running?.by === 'outside') throw new UserError(`cannot ${what}: ${describeOutside(running, g.disk)}. Shut that guest down first. Nothing was changed.`, 1);
    const pid = running?.pid ?? (await lockHolder(guestLockFile(paths, g.name)))?.pid;
    const state = pid !== undefined ? `is running (pid ${pid})` : 'is being launched (or restarted after a reset), or another talos-mac command is using it';
    throw new UserError(`cannot ${what}: ${g.name} ${state}. Shut Mac OS down inside the guest (or talos-mac stop ${g.name}), then try again. Nothing was changed.`, 1);
  };
  if (await findRunning(host, paths, g)) await refuse();
  const guestLock = guestLockFile(paths, g.name);
  await prepareLockDir(guestLock);
  const held: HeldLock[] = [];
  try {
    for (const file of [launchLockFile(guestLock), guestLock]) {
      const lock = await holdLock(file).catch((e: NodeJS.ErrnoException) => {
        throw new UserError(`cannot ${what}: could not take the lock ${JSON.stringify(file)} (${e.code ?? e.message}). Is util-linux (flock) installed?`, 1);
      });
      if (!lock) await refuse();
      held.push(lock!);
    }
    // A QEMU started by hand between the first look and the locks.
    if (await findRunning(host, paths, g)) await refuse();
    return await fn();
  } finally {
    for (const l of held.reverse()) l.release();
  }
}
