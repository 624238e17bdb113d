import { join } from 'node:path';
import type { Host } from './host.js';
import { LiveHost } from './live-host.js';
import { QemuAnswers } from './qemu-answers.js';
import { RootedHost } from './rooted-host.js';

/** Which machine a command looks at: the one place that chooses (a command chooses once and passes the host down). */
export interface HostChoice {
  /** --snapshot DIR: answer from a captured host (doctor --collect); nothing runs. */
  snapshot?: string;
  /** --root DIR: read files under DIR (a mounted system, a sandbox); commands run on this machine. */
  root?: string;
  /** The environment its commands run with (PATH decides which programs are found). */
  env?: NodeJS.ProcessEnv;
}

/** This machine, or a root or snapshot of another: the host a command passes to everything it calls. */
export async function openHost(c: HostChoice = {}): Promise<Host> {
  if (c.snapshot) {
    const { SnapshotHost } = await import('./snapshot-host.js');
    return SnapshotHost.open(c.snapshot);
  }
  return c.root && c.root !== '/' ? new RootedHost(c.root, c.env) : new LiveHost(c.env);
}

/** This machine (a command that only ever looks at the machine it runs on). */
export const thisMachine = (env: NodeJS.ProcessEnv = process.env): Host => new LiveHost(env);

/**
 * This machine, for a command that starts QEMU right after asking it what it can do (launch, demo):
 * the answers only QEMU's binary decides are kept in `cacheDir` (qemu-answers.ts).
 */
export const thisMachineForQemu = (cacheDir: string, env: NodeJS.ProcessEnv = process.env): Host =>
  new QemuAnswers(new LiveHost(env), join(cacheDir, 'qemu-answers.json'), env);
