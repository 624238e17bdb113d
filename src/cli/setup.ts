import { writeSync } from 'node:fs';
import type { SetupOptions } from '../setup/setup.js';

export type { SetupOptions };

export async function setupCommand(opts: SetupOptions): Promise<number> {
  const [{ runSetup }, { makeChalk }, { writeOut }] = await Promise.all([import('../setup/setup.js'), import('../ui/color.js'), import('../ui/output.js')]);
  // With --json, standard output holds the one document; the running commentary goes to standard error.
  const fd = opts.json ? 2 : 1;
  return runSetup(opts, {
    out: (line) => writeSync(fd, `${line}\n`),
    json: writeOut,
    interactive: Boolean(process.stdin.isTTY),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    chalk: await makeChalk(),
  });
}
