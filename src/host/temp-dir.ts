import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** A new private folder (mode 0700) under $TMPDIR; a TMPDIR this user cannot write is a clear error, not a crash. */
export async function privateTempDir(prefix: string): Promise<string> {
  const base = tmpdir();
  try {
    return await mkdtemp(join(base, prefix));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot create a temporary folder in ${JSON.stringify(base)} (${code ?? (err as Error).message}): set TMPDIR to a folder you can write.`, 1);
  }
}
