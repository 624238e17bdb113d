import { demoCommand } from '../demo/demo.js';
import { thisMachineForQemu } from '../host/open.js';
import { guestPaths } from '../guests/paths.js';
import { UserError } from '../errors.js';
import { checkedHost, parseAccel, parseDisplay, parseSeconds } from './launch.js';

export interface DemoFlags {
  accel: string;
  timeout?: string;
  display?: string;
  printCmd?: boolean;
  json?: boolean;
  workDir?: string;
  image?: string;
  snapshot?: string;
  hostSnapshot?: string;
}

export async function demoCli(f: DemoFlags): Promise<number> {
  // launch's --display, without what makes no sense for the demo (auto, none: nothing to look at).
  const { display, vnc } = parseDisplay(f.display ?? 'serial');
  if (display !== 'serial' && display !== 'vnc' && display !== 'window') throw new UserError(`--display for the demo is serial, vnc[=HOST:N] or window (got ${JSON.stringify(f.display)})`);
  return demoCommand({
    accel: parseAccel(f.accel),
    timeoutSeconds: parseSeconds(f.timeout, '--timeout'),
    display,
    vnc,
    printCmd: f.printCmd ?? false,
    json: f.json ?? false,
    workDir: f.workDir,
    image: f.image,
    checked: await checkedHost(f),
  }, thisMachineForQemu(guestPaths().cache));
}
