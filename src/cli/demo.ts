import { demoCommand } from '../demo/demo.js';
import { thisMachineForQemu } from '../host/open.js';
import { guestPaths } from '../guests/paths.js';
import { checkedHost, parseAccel, parseSeconds } from './launch.js';

export interface DemoFlags {
  accel: string;
  timeout: string;
  printCmd?: boolean;
  json?: boolean;
  workDir?: string;
  image?: string;
  snapshot?: string;
  hostSnapshot?: string;
}

export async function demoCli(f: DemoFlags): Promise<number> {
  return demoCommand({
    accel: parseAccel(f.accel),
    timeoutSeconds: parseSeconds(f.timeout, '--timeout') ?? 60,
    printCmd: f.printCmd ?? false,
    json: f.json ?? false,
    workDir: f.workDir,
    image: f.image,
    checked: await checkedHost(f),
  }, thisMachineForQemu(guestPaths().cache));
}
