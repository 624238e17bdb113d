import { writeSync } from 'node:fs';
import type { SetupOptions } from '../setup/setup.js';

export type { SetupOptions };

export async function setupCommand(opts: SetupOptions): Promise<number> {
  const [{ runSetup }, { makeChalk }] = await Promise.all([import('../setup/setup.js'), import('../ui/color.js')]);
  return runSetup(opts, {
    out: (line) => writeSync(1, `${line}\n`),
    interactive: Boolean(process.stdin.isTTY),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    chalk: await makeChalk(),
  });
}
