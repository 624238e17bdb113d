import { writeOut } from '../ui/output.js';
import { unlink } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { GuestStore } from '../guests/store.js';
import { runningPid, runtimeFiles } from '../launch/state.js';
import { EXIT } from './exit-codes.js';

export interface RmOptions {
  deleteDisk?: boolean;
  yes?: boolean;
}

export async function rmCommand(name: string, opts: RmOptions): Promise<number> {
  const store = new GuestStore();
  const g = await store.read(name);
  if ((await runningPid(runtimeFiles(store.paths, name))) !== undefined) throw new UserError(`${name} is running: stop it first (talos-mac stop ${name}).`);
  if (opts.deleteDisk && !opts.yes) {
    if (!process.stdin.isTTY) throw new UserError(`--delete-disk deletes ${g.disk}: confirm with --yes (no terminal to ask on).`);
    const { confirm } = await import('@inquirer/prompts');
    if (!(await confirm({ message: `Delete the disk ${g.disk} for good?`, default: false }))) {
      writeOut('Nothing removed.\n');
      return EXIT.OK;
    }
  }
  await store.remove(name);
  if (opts.deleteDisk) {
    await unlink(g.disk).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new UserError(`removed the definition, but could not delete ${g.disk}: ${err.message}`, 1);
    });
    writeOut(`Removed ${name} and deleted its disk ${g.disk}.\n`);
  } else writeOut(`Removed ${name}. Its disk is kept: ${g.disk}\n`);
  return EXIT.OK;
}
