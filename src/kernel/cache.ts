import { createReadStream } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../builtin.js';
import { sha256 } from '../privileged/sha256.js';

/** $XDG_CACHE_HOME/talos-mac/kernel (default ~/.cache/talos-mac/kernel). */
export function kernelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] && env['XDG_CACHE_HOME'].startsWith('/') ? env['XDG_CACHE_HOME'] : join(homedir(), '.cache');
  return join(base, 'talos-mac', 'kernel');
}

export async function sha256File(path: string): Promise<string> {
  const h = builtin.crypto().createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A short stable key for a set of build inputs. */
export function inputsKey(inputs: unknown): string {
  return sha256(JSON.stringify(inputs)).slice(0, 12);
}
